// BLAS / LAPACK entry points used by the kernels. OpenBLAS ships CBLAS and the
// Fortran LAPACK symbols; Debian's headers carry no LAPACKE, so the LAPACK
// routines we need are declared here with their Fortran calling convention.
#pragma once
#include <cblas.h>

extern "C" {
void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info);
void spotri_(const char* uplo, const int* n, float* a, const int* lda, int* info);
void spotrs_(const char* uplo, const int* n, const int* nrhs, const float* a,
             const int* lda, float* b, const int* ldb, int* info);
}
