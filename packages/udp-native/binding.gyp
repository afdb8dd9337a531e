{
  "targets": [
    {
      "target_name": "udp_native",
      "sources": [
        "src/addon.c",
        "src/unix_dgram.c"
      ],
      "conditions": [
        ["OS=='linux'", { "sources": ["src/udp_batch.c", "src/sendfile.c"] }],
        ["OS=='win'", { "sources!": ["src/unix_dgram.c"] }]
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
