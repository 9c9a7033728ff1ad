// Stands in for CUDA's cuda_fp16.h when kvmesh.cu is compiled as plain C++: __half and its conversions are in
// cuda_emulation.h.
#include "cuda_emulation.h"
