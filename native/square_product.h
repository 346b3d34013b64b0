// The local dual walk's state solve s = r M⁻¹: a product of a few rows by one square matrix.
#pragma once
#include <cstdint>

namespace admm {

// out [rows, h] = in [rows, h] · B [h, h], all row-major and contiguous. On x86-64 processors
// with AVX-512 and h a multiple of 16, a register-blocked kernel (B read in place, no packing);
// elsewhere OpenBLAS on the calling thread. Rates in BENCHMARKS.md ('local-duals' second pass).
void squareProduct(int64_t rows, int64_t h, const float* in, const float* B, float* out);

}  // namespace admm
