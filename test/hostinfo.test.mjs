// src/bench/hostinfo.ts: core types from /proc/cpuinfo fixtures (Khadas VIM3, Raspberry Pi 4,
// this machine's x86), readHostInfo/readThermal on a fake /proc + /sys tree, throttleSeen rules,
// links, version warnings, and readHostInfo('/') on this machine.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';

const H = await import('../dist/bench/hostinfo.js');
const FIX = new URL('./fixtures/hostinfo/', import.meta.url);
const fixture = (name) => readFileSync(new URL(name, FIX), 'utf8');
const VIM3 = fixture('vim3-a311d-archlinuxarm.cpuinfo');
const PI4 = fixture('rpi4-raspios-arm64.cpuinfo');
const X86 = fixture('x86-amd-epyc-vm.cpuinfo');

describe('parseCpuinfo / coreTypes / describeCores', () => {
  test('Khadas VIM3 (A311D): 2× A53 on cpus 0-1, 4× A73 on cpus 2-5, big cores first', () => {
    const per = H.parseCpuinfo(VIM3);
    assert.deepEqual(per, [
      { cpu: 0, model: 'Cortex-A53' }, { cpu: 1, model: 'Cortex-A53' },
      { cpu: 2, model: 'Cortex-A73' }, { cpu: 3, model: 'Cortex-A73' }, { cpu: 4, model: 'Cortex-A73' }, { cpu: 5, model: 'Cortex-A73' },
    ]);
    // without clocks (cpufreq absent) the big cores still come first
    const types = H.coreTypes(per, null);
    assert.deepEqual(types, [
      { model: 'Cortex-A73', count: 4, maxMHz: null, cpus: [2, 3, 4, 5] },
      { model: 'Cortex-A53', count: 2, maxMHz: null, cpus: [0, 1] },
    ]);
    assert.equal(H.describeCores(types), '4× Cortex-A73 + 2× Cortex-A53');
    // with clocks, indexed by cpu number (array)
    const withMHz = H.coreTypes(per, [1800, 1800, 2208, 2208, 2208, 2208]);
    assert.deepEqual(withMHz.map((t) => [t.model, t.maxMHz, t.count]), [['Cortex-A73', 2208, 4], ['Cortex-A53', 1800, 2]]);
  });

  test('Raspberry Pi 4: 4× Cortex-A72; trailing Revision/Model block is not a cpu', () => {
    const per = H.parseCpuinfo(PI4);
    assert.equal(per.length, 4);
    assert.ok(per.every((c, i) => c.cpu === i && c.model === 'Cortex-A72'), JSON.stringify(per));
    assert.equal(H.describeCores(H.coreTypes(per, new Map([[0, 1800], [1, 1800], [2, 1800], [3, 1800]]))), '4× Cortex-A72');
  });

  test("this machine's x86 /proc/cpuinfo: grouped by model name", () => {
    const per = H.parseCpuinfo(X86);
    const expectedModel = /^model name\s*:\s*(.*)$/m.exec(X86)[1].replace(/\s+/g, ' ').trim();
    const n = X86.match(/^processor\s*:/gm).length;
    assert.equal(per.length, n);
    assert.ok(per.every((c) => c.model === expectedModel), JSON.stringify(per));
    const types = H.coreTypes(per, {});
    assert.equal(types.length, 1);
    assert.deepEqual(types[0], { model: expectedModel, count: n, maxMHz: null, cpus: [...Array(n).keys()] });
    assert.equal(H.describeCores(types), `${n}× ${expectedModel}`);
  });

  test('equal names split by maximum clock (Intel hybrid P/E cores), faster first, clock shown', () => {
    const model = '12th Gen Intel(R) Core(TM) i7-1260P';
    const per = [...Array(12).keys()].map((cpu) => ({ cpu, model }));
    const max = per.map((c) => (c.cpu < 4 ? 3400 : 4700)); // E cores listed first on purpose
    const types = H.coreTypes(per, max);
    assert.deepEqual(types.map((t) => [t.count, t.maxMHz, t.cpus[0]]), [[8, 4700, 4], [4, 3400, 0]]);
    assert.equal(H.describeCores(types), `8× ${model} @ 4700 MHz + 4× ${model} @ 3400 MHz`);
  });

  test('ARM names: table entries, 32-bit generic model name loses to the part, unknown part described', () => {
    assert.equal(H.armCoreName('0x41', '0xd0b'), 'Cortex-A76');
    assert.equal(H.armCoreName('0x41', '0xd05'), 'Cortex-A55');
    assert.equal(H.armCoreName('0x41', '0xd82'), 'Cortex-X4');
    assert.equal(H.armCoreName(0x41, 0xd49), 'Neoverse-N2');
    assert.equal(H.armCoreName('0x41', '0xfff'), null);
    const armv7 = 'processor\t: 0\nmodel name\t: ARMv7 Processor rev 3 (v7l)\nCPU implementer\t: 0x41\nCPU part\t: 0xd08\n';
    assert.deepEqual(H.parseCpuinfo(armv7), [{ cpu: 0, model: 'Cortex-A72' }]);
    const odd = 'processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xfff\n\nprocessor\t: 1\nCPU implementer\t: 0x99\nCPU part\t: 0x001\n';
    assert.deepEqual(H.parseCpuinfo(odd).map((c) => c.model), ['ARM part 0xfff', 'implementer 0x99 part 0x001']);
    // RK3588-like: 4× A55 (cpus 0-3) + 4× A76 at two clocks → A76 2400 first, A76 2256, then A55
    const rk = [0, 1, 2, 3].map((cpu) => ({ cpu, model: 'Cortex-A55' })).concat([4, 5, 6, 7].map((cpu) => ({ cpu, model: 'Cortex-A76' })));
    const t = H.coreTypes(rk, [1800, 1800, 1800, 1800, 2256, 2256, 2400, 2400]);
    assert.equal(H.describeCores(t), '2× Cortex-A76 @ 2400 MHz + 2× Cortex-A76 @ 2256 MHz + 4× Cortex-A55');
  });
});

// ---------------------------------------------------------------------------------------------
// A fake VIM3-like tree

const roots = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function put(root, rel, text) {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
}

function fakeVim3() {
  const root = mkdtempSync(join(tmpdir(), 'orchid-hostinfo-'));
  roots.push(root);
  put(root, 'proc/cpuinfo', VIM3);
  put(root, 'proc/meminfo', 'MemTotal:        3884012 kB\nMemFree:         3101220 kB\nMemAvailable:    3412344 kB\nBuffers:           20100 kB\n');
  put(root, 'proc/loadavg', '0.52 0.31 0.12 1/187 4242\n');
  put(root, 'proc/sys/kernel/hostname', 'vim3-a\n');
  put(root, 'proc/sys/kernel/ostype', 'Linux\n');
  put(root, 'proc/sys/kernel/osrelease', '6.6.8-1-aarch64-ARCH\n');
  put(root, 'proc/device-tree/model', 'Khadas VIM3\0');
  put(root, 'etc/os-release', 'NAME="Arch Linux ARM"\nPRETTY_NAME="Arch Linux ARM"\nID=archarm\n');
  for (let c = 0; c < 6; c++) {
    const little = c < 2;
    const d = `sys/devices/system/cpu/cpu${c}/cpufreq`;
    put(root, `${d}/scaling_cur_freq`, little ? '1000000\n' : '2208000\n');
    put(root, `${d}/cpuinfo_max_freq`, little ? '1800000\n' : '2208000\n');
    put(root, `${d}/cpuinfo_min_freq`, '100000\n');
    put(root, `${d}/scaling_max_freq`, little ? '1800000\n' : '2208000\n');
    put(root, `${d}/scaling_governor`, little ? 'powersave\n' : 'performance\n');
    if (c > 0) put(root, `sys/devices/system/cpu/cpu${c}/online`, '1\n');
  }
  put(root, 'sys/devices/system/cpu/cpufreq/policy0/stats/total_trans', '120\n');
  put(root, 'sys/devices/system/cpu/cpufreq/policy2/stats/total_trans', '30\n');
  const tz = 'sys/class/thermal/thermal_zone0';
  put(root, `${tz}/type`, 'cpu-thermal\n');
  put(root, `${tz}/temp`, '52300\n');
  put(root, `${tz}/trip_point_0_type`, 'active\n'); // fan: not a throttle point
  put(root, `${tz}/trip_point_0_temp`, '60000\n');
  put(root, `${tz}/trip_point_1_type`, 'passive\n');
  put(root, `${tz}/trip_point_1_temp`, '85000\n');
  put(root, `${tz}/trip_point_2_type`, 'critical\n');
  put(root, `${tz}/trip_point_2_temp`, '110000\n');
  put(root, 'sys/class/thermal/thermal_zone1/type', 'ddr-thermal\n');
  put(root, 'sys/class/thermal/thermal_zone1/temp', '49850\n');
  put(root, 'sys/class/thermal/cooling_device0/type', 'cpufreq-cpu0\n');
  put(root, 'sys/class/thermal/cooling_device0/cur_state', '0\n');
  put(root, 'sys/class/thermal/cooling_device0/max_state', '12\n');
  put(root, 'sys/class/thermal/cooling_device1/type', 'pwm-fan\n'); // not a CPU cooling device
  put(root, 'sys/class/thermal/cooling_device1/cur_state', '2\n');
  put(root, 'sys/class/thermal/cooling_device1/max_state', '3\n');
  // network: real devices dirs, /sys/class/net entries are symlinks as on Linux
  const net = (dev, name, files) => {
    for (const [f, v] of Object.entries(files)) put(root, `sys/devices/${dev}/net/${name}/${f}`, v);
    mkdirSync(join(root, 'sys/class/net'), { recursive: true });
    symlinkSync(`../../devices/${dev}/net/${name}`, join(root, 'sys/class/net', name));
  };
  net('platform/soc/ff3f0000.ethernet', 'eth0', { speed: '1000\n', duplex: 'full\n', operstate: 'up\n', address: '00:11:22:33:44:55\n', type: '1\n', mtu: '1500\n' });
  net('virtual', 'lo', { operstate: 'unknown\n', address: '00:00:00:00:00:00\n', type: '772\n', mtu: '65536\n' });
  net('virtual', 'veth1a2b', { speed: '10000\n', duplex: 'full\n', operstate: 'up\n', address: '5e:00:00:00:00:01\n', type: '1\n', mtu: '1500\n' });
  net('platform/soc/ffe03000.sd/mmc_host/mmc2/mmc2:0001/mmc2:0001:1', 'wlan0', { speed: '-1\n', operstate: 'down\n', address: '00:11:22:33:44:66\n', type: '1\n', mtu: '1500\n' });
  mkdirSync(join(root, 'sys/class/net/wlan0/wireless'));
  return root;
}

const IFACES = {
  lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
  eth0: [
    { address: '192.168.1.21', netmask: '255.255.255.0', family: 'IPv4', mac: '00:11:22:33:44:55', internal: false, cidr: '192.168.1.21/24' },
    { address: 'fe80::211:22ff:fe33:4455', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '00:11:22:33:44:55', internal: false, cidr: 'fe80::211:22ff:fe33:4455/64', scopeid: 2 },
  ],
  veth1a2b: [{ address: '10.88.0.1', netmask: '255.255.0.0', family: 'IPv4', mac: '5e:00:00:00:00:01', internal: false, cidr: '10.88.0.1/16' }],
};

describe('readHostInfo / readThermal on a fake VIM3 tree', () => {
  test('readHostInfo reads cores, clocks, governors, temperatures, memory, links', () => {
    const root = fakeVim3();
    const h = H.readHostInfo(root, { orchid: '9.9.9', mpi: 'Open MPI 4.1.6', networkInterfaces: IFACES });
    assert.equal(h.name, 'vim3-a');
    assert.equal(h.os, 'Linux 6.6.8-1-aarch64-ARCH');
    assert.equal(h.distro, 'Arch Linux ARM');
    assert.equal(h.board, 'Khadas VIM3');
    assert.equal(h.cpuModel, '4× Cortex-A73 + 2× Cortex-A53');
    assert.equal(h.cores, 6);
    assert.deepEqual(h.coreTypes, [
      { model: 'Cortex-A73', count: 4, maxMHz: 2208, cpus: [2, 3, 4, 5] },
      { model: 'Cortex-A53', count: 2, maxMHz: 1800, cpus: [0, 1] },
    ]);
    assert.equal(h.governor, 'performance ×4, powersave ×2');
    assert.deepEqual(h.freqMHz, {
      cpus: [0, 1, 2, 3, 4, 5],
      cur: [1000, 1000, 2208, 2208, 2208, 2208],
      max: [1800, 1800, 2208, 2208, 2208, 2208],
      min: [100, 100, 100, 100, 100, 100],
      scalingMax: [1800, 1800, 2208, 2208, 2208, 2208],
    });
    assert.deepEqual(h.temperatures, [
      { zone: 'thermal_zone0', type: 'cpu-thermal', celsius: 52.3, tripCelsius: 85, tripType: 'passive' },
      { zone: 'thermal_zone1', type: 'ddr-thermal', celsius: 49.9, tripCelsius: null, tripType: null },
    ]);
    assert.deepEqual(h.throttle, { source: 'cpufreq stats total_trans', count: 150, bits: null, flags: [] });
    assert.equal(h.memoryBytes, 3884012 * 1024);
    assert.equal(h.memAvailableBytes, 3412344 * 1024);
    assert.deepEqual(h.loadAverage, [0.52, 0.31, 0.12]);
    assert.equal(h.node, process.version);
    assert.equal(h.orchid, '9.9.9');
    assert.equal(h.mpi, 'Open MPI 4.1.6');
    assert.deepEqual(h.links.map((l) => l.iface), ['eth0', 'veth1a2b', 'wlan0'], 'loopback left out, sorted');
    const [eth, veth, wlan] = h.links;
    assert.deepEqual(eth, {
      iface: 'eth0', speedMbps: 1000, duplex: 'full', operstate: 'up', addresses: ['192.168.1.21', 'fe80::211:22ff:fe33:4455'],
      mac: '00:11:22:33:44:55', mtu: 1500, virtual: false, wireless: false,
    });
    assert.equal(veth.speedMbps, 10000, 'keep what the OS says for veth');
    assert.equal(veth.virtual, true);
    assert.equal(wlan.speedMbps, null, 'speed -1 → null');
    assert.equal(wlan.duplex, null, 'duplex unreadable → null');
    assert.equal(wlan.wireless, true);
    assert.equal(wlan.operstate, 'down');
    assert.deepEqual(JSON.parse(JSON.stringify(h)), h, 'JSON round trip');

    assert.deepEqual(H.linkRateFor(h.links, '192.168.1.21'), { iface: 'eth0', speedMbps: 1000 });
    assert.deepEqual(H.linkRateFor(h.links, '::ffff:192.168.1.21'), { iface: 'eth0', speedMbps: 1000 });
    assert.deepEqual(H.linkRateFor(h.links, '[fe80::211:22ff:fe33:4455%eth0]'), { iface: 'eth0', speedMbps: 1000 });
    assert.deepEqual(H.linkRateFor(h.links, '10.88.0.1'), { iface: 'veth1a2b', speedMbps: 10000 });
    assert.equal(H.linkRateFor(h.links, '192.168.1.99'), null);
  });

  test('readThermal samples; throttleSeen notices a trip point, a cap and a busy cooling device from the files', () => {
    const root = fakeVim3();
    const before = H.readThermal(root);
    assert.equal(before.maxCelsius, 52.3);
    assert.deepEqual(before.freqCpus, [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(before.freqMHz, [1000, 1000, 2208, 2208, 2208, 2208]);
    assert.equal(before.governor, 'performance ×4, powersave ×2');
    assert.equal(before.throttleCount, null);
    assert.equal(before.throttleBits, null, 'no vcgencmd spawned for a fake tree');
    assert.equal(before.freqTransitions, 150);
    assert.deepEqual(before.cooling, [{ device: 'cooling_device0', type: 'cpufreq-cpu0', cur: 0, max: 12 }]);
    const host = H.readHostInfo(root, { networkInterfaces: {} });
    assert.equal(H.throttleSeen(before, H.readThermal(root), host.freqMHz), null, 'nothing changed');

    // the board heats up: the passive trip is crossed, the kernel caps the A73s to 1512 MHz
    put(root, 'sys/class/thermal/thermal_zone0/temp', '86100\n');
    put(root, 'sys/class/thermal/cooling_device0/cur_state', '3\n');
    for (const c of [2, 3, 4, 5]) {
      put(root, `sys/devices/system/cpu/cpu${c}/cpufreq/scaling_max_freq`, '1512000\n');
      put(root, `sys/devices/system/cpu/cpu${c}/cpufreq/scaling_cur_freq`, '1512000\n');
    }
    const hot = H.readThermal(root);
    assert.equal(hot.maxCelsius, 86.1);
    const said = H.throttleSeen(before, hot, host.freqMHz);
    assert.match(said, /thermal_zone0 \(cpu-thermal\) at 86\.1 °C, at or above its passive trip point 85 °C/);
    assert.match(said, /cpufreq-cpu0 at cooling state 3 of 12/);
    assert.match(said, /scaling_max_freq 1512 MHz < 2208 MHz maximum on cpu 2-5/);
    assert.equal(H.readThrottle(root).flags.join(), 'cpufreq-cpu0 at cooling state 3 of 12');
  });

  test('x86 thermal_throttle counters are summed (package once per package) and their growth is reported', () => {
    const root = mkdtempSync(join(tmpdir(), 'orchid-hostinfo-x86-'));
    roots.push(root);
    put(root, 'proc/cpuinfo', X86);
    for (const c of [0, 1]) {
      put(root, `sys/devices/system/cpu/cpu${c}/thermal_throttle/core_throttle_count`, c === 0 ? '3\n' : '4\n');
      put(root, `sys/devices/system/cpu/cpu${c}/thermal_throttle/package_throttle_count`, '10\n');
      put(root, `sys/devices/system/cpu/cpu${c}/topology/physical_package_id`, '0\n');
    }
    const a = H.readThermal(root);
    assert.equal(a.throttleCount, 17);
    assert.deepEqual(H.readThrottle(root), { source: 'thermal_throttle', count: 17, bits: null, flags: [] });
    put(root, 'sys/devices/system/cpu/cpu1/thermal_throttle/core_throttle_count', '9\n');
    const b = H.readThermal(root);
    assert.equal(H.throttleSeen(a, b, null), 'thermal_throttle count grew by 5');
    assert.equal(H.throttleSeen(b, b, null), null);
  });

  test('vcgencmd get_throttled: parsed, and run when given a path', () => {
    assert.deepEqual(H.parseGetThrottled('throttled=0x50005\n'), {
      bits: 0x50005,
      now: ['under-voltage', 'throttled'],
      occurred: ['under-voltage', 'throttled'],
      flags: ['under-voltage now', 'throttled now', 'under-voltage has occurred', 'throttled has occurred'],
    });
    assert.deepEqual(H.parseGetThrottled('throttled=0x0').flags, []);
    assert.deepEqual(H.parseGetThrottled('throttled=0x80008').flags, ['soft temperature limit now', 'soft temperature limit has occurred']);
    assert.equal(H.parseGetThrottled('error=1 error_msg="Command not registered"'), null);

    const root = mkdtempSync(join(tmpdir(), 'orchid-hostinfo-pi-'));
    roots.push(root);
    const cmd = join(root, 'vcgencmd');
    writeFileSync(cmd, '#!/bin/sh\n[ "$1" = get_throttled ] && echo "throttled=0x20002"\n');
    chmodSync(cmd, 0o755);
    const s = H.readThermal(root, { vcgencmd: cmd });
    assert.equal(s.throttleBits, 0x20002);
    assert.deepEqual(H.readThrottle(root, { vcgencmd: cmd }), {
      source: 'vcgencmd get_throttled', count: null, bits: 0x20002, flags: ['arm frequency capped now', 'arm frequency capped has occurred'],
    });
    assert.equal(H.readThermal(root, { vcgencmd: join(root, 'missing') }).throttleBits, null);
  });
});

// ---------------------------------------------------------------------------------------------
// throttleSeen on hand-made samples

const cool = (over = {}) => ({
  time: 0, maxCelsius: 50, zones: [{ zone: 'thermal_zone0', type: 'cpu-thermal', celsius: 50, tripCelsius: 85, tripType: 'passive' }],
  freqCpus: [0, 1, 2, 3, 4, 5], freqMHz: [1800, 1800, 2208, 2208, 2208, 2208], scalingMaxMHz: [1800, 1800, 2208, 2208, 2208, 2208],
  governor: 'schedutil', throttleCount: null, throttleBits: null, freqTransitions: null, cooling: [], ...over,
});
const VIM3_MAX = [1800, 1800, 2208, 2208, 2208, 2208];

describe('throttleSeen', () => {
  test('no change → null; counter grew → words', () => {
    assert.equal(H.throttleSeen(cool({ throttleCount: 4 }), cool({ throttleCount: 4 }), VIM3_MAX), null);
    assert.equal(H.throttleSeen(cool({ throttleCount: 4 }), cool({ throttleCount: 7 }), VIM3_MAX), 'thermal_throttle count grew by 3');
    assert.equal(H.throttleSeen(null, cool({ throttleCount: 7 }), VIM3_MAX), null, 'no before: no growth to tell');
  });

  test('clock cap rule: fastest cpu below 85% of the lowest maximum, only under fast governors', () => {
    // busy kernel, but no core above 1000 MHz: 1000 < 0.85 × 1800 = 1530 → capped
    const capped = cool({ freqMHz: [600, 600, 1000, 1000, 1000, 1000] });
    assert.match(H.throttleSeen(cool(), capped, VIM3_MAX), /clock capped: no cpu above 1000 MHz, below 85% of the lowest maximum 1800 MHz \(governor schedutil\)/);
    // idle cores clocked down but one A73 at full speed: fine
    assert.equal(H.throttleSeen(cool(), cool({ freqMHz: [100, 100, 2208, 500, 500, 500] }), VIM3_MAX), null);
    // just above the line: 1531 ≥ 1530 → fine; just below → capped
    assert.equal(H.throttleSeen(cool(), cool({ freqMHz: [1531, 1531, 1531, 1531, 1531, 1531] }), VIM3_MAX), null);
    assert.notEqual(H.throttleSeen(cool(), cool({ freqMHz: [1529, 1529, 1529, 1529, 1529, 1529] }), VIM3_MAX), null);
    // powersave runs slow by design: no claim
    assert.equal(H.throttleSeen(cool(), cool({ governor: 'powersave', freqMHz: [600, 600, 1000, 1000, 1000, 1000] }), VIM3_MAX), null);
    // a mix with powersave: no claim either
    assert.equal(H.throttleSeen(cool(), cool({ governor: 'performance ×4, powersave ×2', freqMHz: [600, 600, 1000, 1000, 1000, 1000] }), VIM3_MAX), null);
    // no maximum known: no claim
    assert.equal(H.throttleSeen(cool(), capped, null), null);
    // the maximum as one number, and as HostInfo.freqMHz
    assert.notEqual(H.throttleSeen(cool(), capped, 2208), null);
    assert.notEqual(H.throttleSeen(cool(), capped, { cpus: [0, 1, 2, 3, 4, 5], max: VIM3_MAX }), null);
  });

  test('scaling_max_freq cap, trip point, cooling device, vcgencmd bits, clock changes under performance', () => {
    assert.equal(
      H.throttleSeen(cool(), cool({ scalingMaxMHz: [1800, 1800, 1512, 1512, 1512, 1512], freqMHz: [1800, 1800, 1512, 1512, 1512, 1512] }), VIM3_MAX),
      'clock capped: scaling_max_freq 1512 MHz < 2208 MHz maximum on cpu 2-5',
    );
    const hot = cool({ maxCelsius: 85, zones: [{ zone: 'thermal_zone0', type: 'cpu-thermal', celsius: 85, tripCelsius: 85, tripType: 'passive' }] });
    assert.match(H.throttleSeen(cool(), hot, VIM3_MAX), /at or above its passive trip point 85 °C/);
    const warm = cool({ maxCelsius: 84.9, zones: [{ zone: 'thermal_zone0', type: 'cpu-thermal', celsius: 84.9, tripCelsius: 85, tripType: 'passive' }] });
    assert.equal(H.throttleSeen(cool(), warm, VIM3_MAX), null);
    assert.equal(
      H.throttleSeen(cool(), cool({ cooling: [{ device: 'cooling_device0', type: 'cpufreq-cpu2', cur: 2, max: 12 }] }), VIM3_MAX),
      'cpufreq-cpu2 at cooling state 2 of 12',
    );
    // Pi: sticky "has occurred" bits already set before say nothing new; a fresh one or a "now" bit does
    assert.equal(H.throttleSeen(cool({ throttleBits: 0x50000 }), cool({ throttleBits: 0x50000 }), 1800), null);
    assert.equal(H.throttleSeen(cool({ throttleBits: 0x0 }), cool({ throttleBits: 0x80000 }), 1800), 'vcgencmd get_throttled: soft temperature limit occurred since the previous sample');
    assert.equal(H.throttleSeen(cool({ throttleBits: 0x50000 }), cool({ throttleBits: 0x50004 }), 1800), 'vcgencmd get_throttled: throttled now');
    // clock changes: a sign only under performance
    assert.equal(H.throttleSeen(cool({ governor: 'performance', freqTransitions: 10 }), cool({ governor: 'performance', freqTransitions: 12 }), VIM3_MAX), '2 clock changes under governor performance (a cap came or went)');
    assert.equal(H.throttleSeen(cool({ freqTransitions: 10 }), cool({ freqTransitions: 99 }), VIM3_MAX), null);
    // a stripped sample (as shipped between hosts) works: freqMHz indexed by cpu number
    assert.notEqual(H.throttleSeen({ maxCelsius: 50, freqMHz: null, throttleCount: null }, { maxCelsius: 50, freqMHz: [700, 700], throttleCount: null, governor: 'performance' }, [1800, 1800]), null);
  });
});

describe('versionWarnings', () => {
  const host = (name, over = {}) => ({ name, node: 'v20.20.2', orchid: '0.1.0', mpi: null, arch: 'arm64', ...over });
  test('one warning per differing field, grouped by value in order of appearance', () => {
    assert.deepEqual(H.versionWarnings([host('node1'), host('node2'), host('node3')]), []);
    assert.deepEqual(H.versionWarnings([host('node1'), host('node2'), host('node3', { node: 'v22.1.0' })]), [
      'Node differs across hosts: v20.20.2 on node1, node2; v22.1.0 on node3',
    ]);
    assert.deepEqual(
      H.versionWarnings([host('a', { mpi: 'Open MPI 4.1.4' }), host('b', { arch: 'x64', orchid: '0.2.0' }), host('c', { mpi: 'Open MPI 4.1.4' })]),
      [
        'orchid differs across hosts: 0.1.0 on a, c; 0.2.0 on b',
        'MPI library differs across hosts: Open MPI 4.1.4 on a, c; none on b',
        'arch differs across hosts: arm64 on a, c; x64 on b',
      ],
    );
  });
});

test("readHostInfo('/') on this machine is sane and JSON", () => {
  const h = H.readHostInfo('/', { mpi: null });
  assert.ok(Number.isInteger(h.cores) && h.cores >= 1, `cores ${h.cores}`);
  assert.ok(h.memoryBytes > 0);
  assert.ok(h.memAvailableBytes === null || (h.memAvailableBytes > 0 && h.memAvailableBytes <= h.memoryBytes));
  assert.equal(h.availableParallelism, availableParallelism());
  assert.equal(h.coreTypes.reduce((n, t) => n + t.count, 0), h.cores, 'every cpu in one core type');
  assert.ok(h.cpuModel.length > 0 && h.cpuModel !== 'unknown', h.cpuModel);
  assert.equal(h.node, process.version);
  assert.equal(h.orchid, JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
  assert.equal(h.loadAverage.length, 3);
  assert.ok(h.links.every((l) => l.iface !== 'lo'), 'no loopback');
  assert.ok(h.temperatures.every((z) => z.celsius > -60 && z.celsius < 200));
  if (h.freqMHz) assert.ok(h.freqMHz.max.every((m) => m === null || m > 0));
  assert.deepEqual(JSON.parse(JSON.stringify(h)), h);
  const s = H.readThermal('/');
  assert.equal(typeof s.time, 'number');
  assert.ok(s.freqMHz === null || s.freqMHz.length === s.freqCpus.length);
});
