// llama.cpp's own dequantize_row_* and quantize_* (from the libggml-base shared library that
// node-llama-cpp ships), run on bytes given in a file: the reference test/ggml-reference.test.ts
// holds int4's to, bit for bit. Not part of the addon: the test compiles it with the host's C++
// compiler and loads the library with dlopen, so nothing of llama.cpp is built or committed.
//   ggml_reference LIB dequantize TYPE BLOCKBYTES IN OUT     blocks (IN) -> f32 values (OUT)
//   ggml_reference LIB quantize TYPE NPERROW IN [IMATRIX] OUT   f32 rows -> blocks
// TYPE is ggml's function suffix: q4_0 ... q8_0, q2_K ... q8_K, iq4_nl, iq4_xs.
#include <dlfcn.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

std::vector<char> read_file(const char* path) {
  std::vector<char> out;
  FILE* f = std::fopen(path, "rb");
  if (!f) {
    std::fprintf(stderr, "cannot open %s\n", path);
    std::exit(2);
  }
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.insert(out.end(), buf, buf + n);
  std::fclose(f);
  return out;
}

void write_file(const char* path, const void* data, size_t n) {
  FILE* f = std::fopen(path, "wb");
  if (!f || std::fwrite(data, 1, n, f) != n) {
    std::fprintf(stderr, "cannot write %s\n", path);
    std::exit(2);
  }
  std::fclose(f);
}

void* symbol(void* lib, const std::string& name) {
  void* p = dlsym(lib, name.c_str());
  if (!p) {
    std::fprintf(stderr, "no symbol %s in the library\n", name.c_str());
    std::exit(2);
  }
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s LIB dequantize TYPE BLOCKBYTES IN OUT | LIB quantize TYPE NPERROW IN [IMATRIX] OUT\n", argv[0]);
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "dlopen: %s\n", dlerror());
    return 2;
  }
  const std::string mode = argv[2], type = argv[3];
  // the block size of each type, for the element count
  const int block = type == "q2_K" || type == "q3_K" || type == "q4_K" || type == "q5_K" || type == "q6_K" ||
                            type == "q8_K" || type == "iq4_xs"
                        ? 256
                        : 32;
  if (mode == "dequantize") {
    using Fn = void (*)(const void*, float*, int64_t);
    const auto fn = reinterpret_cast<Fn>(symbol(lib, "dequantize_row_" + type));
    if (argc < 7) {
      std::fprintf(stderr, "dequantize needs: LIB dequantize TYPE BLOCKBYTES IN OUT\n");
      return 2;
    }
    const int64_t block_bytes = std::atoll(argv[4]);
    const std::vector<char> blocks = read_file(argv[5]);
    const int64_t nblocks = static_cast<int64_t>(blocks.size()) / block_bytes;
    std::vector<float> out(static_cast<size_t>(nblocks * block));
    fn(blocks.data(), out.data(), nblocks * block);
    write_file(argv[6], out.data(), out.size() * sizeof(float));
    return 0;
  }
  if (mode == "quantize") {
    const int64_t n_per_row = std::atoll(argv[4]);
    const std::vector<char> src = read_file(argv[5]);
    const int64_t nrows = static_cast<int64_t>(src.size() / sizeof(float)) / n_per_row;
    std::vector<char> imatrix;
    const char* out_path = argv[6];
    if (argc > 7) {
      imatrix = read_file(argv[6]);
      out_path = argv[7];
    }
    std::vector<char> dst(static_cast<size_t>(nrows * n_per_row * 2 + 4096));  // more than any type's bytes
    if (type == "q8_K") {  // llama.cpp's activation type: only a row quantizer, no importance matrix
      using RowFn = void (*)(const float*, void*, int64_t);
      reinterpret_cast<RowFn>(symbol(lib, "quantize_row_q8_K_ref"))(reinterpret_cast<const float*>(src.data()), dst.data(),
                                                                    nrows * n_per_row);
      write_file(out_path, dst.data(), static_cast<size_t>(nrows * n_per_row / 256 * 292));
      return 0;
    }
    using Fn = size_t (*)(const float*, void*, int64_t, int64_t, const float*);
    const auto fn = reinterpret_cast<Fn>(symbol(lib, "quantize_" + type));
    const size_t bytes = fn(reinterpret_cast<const float*>(src.data()), dst.data(), nrows, n_per_row,
                            imatrix.empty() ? nullptr : reinterpret_cast<const float*>(imatrix.data()));
    write_file(out_path, dst.data(), bytes);
    return 0;
  }
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
