// MPMD on the command line (MPICH's colon syntax and -configfile): `A : B` runs sections
// A and B as one world, ranks numbered across the sections in order. A config file holds
// one section per line ('#' starts a comment, a trailing '\' continues the line, words are
// split like a shell does: '…' and "…" quote, \ escapes).
import { OrchidError } from '../errors.js';
import { readArgFile } from '../launcher/hostfile.js';

/** One token of the command line and where it came from (for errors: "FILE:LINE"). */
export interface Token {
  text: string;
  /** Set for tokens read from a config file. */
  from?: string;
}

/** Split one config-file line into words, shell style (no expansion). */
export function splitWords(line: string, where: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new OrchidError('ERR_ARG', `${where}: unterminated ' quote`);
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (ch === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) j++;
        cur += line[j];
      }
      if (j >= line.length) throw new OrchidError('ERR_ARG', `${where}: unterminated " quote`);
      inWord = true;
      i = j;
    } else if (ch === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else if (ch === '#' && !inWord) {
      break; // comment to the end of the line
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** Parse config-file text: one section's arguments per (logical) line; sections joined by ':'. */
export function configfileTokens(text: string, file: string): Token[] {
  const out: Token[] = [];
  const lines = text.split(/\r?\n/);
  let sections = 0;
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1;
    let line = lines[i]!;
    // a trailing backslash continues the line
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + lines[++i]!;
    const where = `${file}:${first}`;
    const words = splitWords(line, where);
    if (words.length === 0) continue;
    if (words.includes(':')) throw new OrchidError('ERR_ARG', `${where}: ":" in a config file (put each section on its own line)`);
    if (sections++ > 0) out.push({ text: ':', from: where });
    for (const w of words) out.push({ text: w, from: where });
  }
  if (sections === 0) throw new OrchidError('ERR_ARG', `-configfile ${file}: the file has no sections`);
  return out;
}

export function readConfigfile(file: string): Token[] {
  return configfileTokens(readArgFile(file, (why) => `-configfile ${file}: cannot read it: ${why}`), file);
}
