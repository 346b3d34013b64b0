// BLAS / LAPACK entry points used by the kernels, and the one conversion of sizes to BLAS ints.
// OpenBLAS ships CBLAS and the Fortran LAPACK symbols; Debian's headers carry no LAPACKE, so the
// LAPACK routines we need are declared here with their Fortran calling convention.
#pragma once
#include <cblas.h>

#include <climits>
#include <cstdint>

extern "C" {
void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info);
void spotri_(const char* uplo, const int* n, float* a, const int* lda, int* info);
void spotrs_(const char* uplo, const int* n, const int* nrhs, const float* a,
             const int* lda, float* b, const int* ldb, int* info);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a,
             const int* lda, double* b, const int* ldb, int* info);
}

namespace admm {

// BLAS takes 32-bit ints. Args::shape bounds the dimensions, row counts (N·T) and leading
// dimensions (T·h, T·d, T·K) by kMaxBlasInt before any kernel runs, so asInt only narrows the type.
constexpr int64_t kMaxBlasInt = INT_MAX;
inline int asInt(int64_t v) { return static_cast<int>(v); }

}  // namespace admm
