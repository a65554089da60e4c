// An addon as orchid would find it if native/abi.h and src/codec/abi.ts had drifted apart:
// the real addon (ORCHID_REAL_ADDON) whose abi() reports MIN and MAX swapped and
// Float64Array's elements as 4-byte floats. Loaded through ORCHID_MPI_ADDON by
// test/native.test.mjs, which expects the load to fail naming both views.
const real = require(process.env.ORCHID_REAL_ADDON);
module.exports = {
  ...real,
  abi() {
    const view = real.abi();
    const [min, max] = [view.ops.indexOf('min'), view.ops.indexOf('max')];
    [view.ops[min], view.ops[max]] = [view.ops[max], view.ops[min]];
    Object.assign(view.elements.find((e) => e.code === 9), { c: 'float', bytes: 4 });
    return view;
  },
};
