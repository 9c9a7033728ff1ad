package io.kvmesh.runtime.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * The kernels of {@code src/main/cuda/kvmesh.cu}, built ahead of time ({@code build-kernels.sh}) into the fatbin
 * resource and loaded into the current context; {@link #launch} packs arguments the way {@code cuLaunchKernel} wants
 * them (a pointer to each argument's value).
 */
final class CudaKernels implements AutoCloseable {

    static final String FATBIN = "kvmesh.fatbin";
    static final String PTX = "kvmesh.ptx";

    private final CUmodule module = new CUmodule();
    private final Map<String, CUfunction> functions = new HashMap<>();

    CudaKernels() {
        JCudaDriver.cuModuleLoadData(module, fatbin());
    }

    /** The checked-in fatbin (machine code for sm_80 and sm_90, compute_80 PTX for the rest). */
    static byte[] fatbin() {
        return resource(FATBIN);
    }

    static byte[] resource(String name) {
        try (InputStream in = CudaKernels.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("the kernels resource " + name + " is missing from the build");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    CUfunction function(String name) {
        return functions.computeIfAbsent(name, n -> {
            CUfunction function = new CUfunction();
            JCudaDriver.cuModuleGetFunction(function, module, n);
            return function;
        });
    }

    /**
     * Launches {@code name} on {@code stream}; each argument is a {@link CUdeviceptr}, an {@link Integer}, a
     * {@link Long} (a {@code long long} parameter) or a {@link Float}.
     */
    void launch(String name, int[] grid, int block, int sharedBytes, CUstream stream, Object... arguments) {
        Pointer[] values = new Pointer[arguments.length];
        for (int i = 0; i < arguments.length; i++) {
            values[i] = switch (arguments[i]) {
                case CUdeviceptr pointer -> Pointer.to(pointer);
                case Integer value -> Pointer.to(new int[] {value});
                case Long value -> Pointer.to(new long[] {value});
                case Float value -> Pointer.to(new float[] {value});
                default -> throw new IllegalArgumentException("kernel argument of type " + arguments[i].getClass());
            };
        }
        JCudaDriver.cuLaunchKernel(function(name), grid[0], grid.length > 1 ? grid[1] : 1, grid.length > 2 ? grid[2] : 1,
                block, 1, 1, sharedBytes, stream, Pointer.to(values), null);
    }

    @Override
    public void close() {
        JCudaDriver.cuModuleUnload(module);
    }
}
