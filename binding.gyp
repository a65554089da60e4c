{
  "targets": [
    {
      "target_name": "orchid_mpi",
      "sources": [
        "native/abi.cc",
        "native/addon.cc",
        "native/buffer_pool.cc",
        "native/collectives.cc",
        "native/matching.cc",
        "native/p2p.cc",
        "native/progress.cc",
        "native/small_reduce.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node native/mpi-flags.mjs --include)"
      ],
      "cflags": ["<!@(node native/mpi-flags.mjs --cflags)"],
      "libraries": ["<!@(node native/mpi-flags.mjs --libs)"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "OMPI_SKIP_MPICXX", "MPICH_SKIP_MPICXX"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O2"]
    }
  ]
}
