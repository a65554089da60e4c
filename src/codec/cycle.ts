// Why msgpackr ran out of stack: a value that contains itself (a cycle), or one nested too
// deeply. Only asked after msgpackr threw a RangeError, so the hot path pays nothing. The walk
// is iterative (the stack is what just ran out) and follows what msgpackr encodes: Array
// elements, Map keys and values, Set members, own enumerable fields of other objects.
import { isTypedArray } from './typed.js';

interface Frame {
  obj: object;
  label: string;
  children: Iterator<[string, unknown]>;
}

function* childrenOf(obj: object): Generator<[string, unknown]> {
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) yield [`[${i}]`, obj[i]];
  } else if (obj instanceof Map) {
    let i = 0;
    for (const [k, v] of obj) {
      const key = typeof k === 'string' ? JSON.stringify(k) : typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean' ? String(k) : `<key ${i}>`;
      yield [`<key ${i}>`, k];
      yield [`.get(${key})`, v];
      i++;
    }
  } else if (obj instanceof Set) {
    let i = 0;
    for (const v of obj) yield [`<member ${i++} of the Set>`, v];
  } else if (!isTypedArray(obj) && !(obj instanceof Date) && !(obj instanceof RegExp) && !(obj instanceof ArrayBuffer)) {
    for (const k of Object.keys(obj)) yield [/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`, (obj as Record<string, unknown>)[k]];
  }
}

/** A path that shortens a long one in the middle. */
function show(parts: string[]): string {
  const p = parts.length > 12 ? [...parts.slice(0, 6), '…', ...parts.slice(-5)] : parts;
  return `value${p.join('')}`;
}

/**
 * `{ at, back }` when `value` contains itself: following the path `at` from the value
 * reaches the object found at `back` (its ancestor); undefined when there is no cycle.
 */
export function findCycle(value: unknown): { at: string; back: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const onPath = new Map<object, number>(); // object -> its depth on the current path
  const done = new Set<object>(); // fully walked without a cycle
  const stack: Frame[] = [];
  const labels: string[] = [];
  const enter = (obj: object, label: string) => {
    onPath.set(obj, stack.length);
    stack.push({ obj, label, children: childrenOf(obj) });
    labels.push(label);
  };
  enter(value, '');
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const next = top.children.next();
    if (next.done) {
      stack.pop();
      labels.pop();
      onPath.delete(top.obj);
      done.add(top.obj);
      continue;
    }
    const [label, child] = next.value;
    if (typeof child !== 'object' || child === null || done.has(child)) continue;
    const depth = onPath.get(child);
    if (depth !== undefined) return { at: show([...labels.slice(1), label]), back: show(labels.slice(1, depth + 1)) };
    enter(child, label);
  }
  return undefined;
}
