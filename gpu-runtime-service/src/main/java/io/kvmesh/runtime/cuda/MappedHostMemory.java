package io.kvmesh.runtime.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

import jcuda.driver.CUdeviceptr;

/**
 * Pinned host memory mapped into the device's address space (the host tier of swapped-out KV blocks), allocated
 * through the driver directly with the foreign-function API: JCuda's {@code cuMemHostAlloc} wraps every allocation in
 * a direct ByteBuffer, which Java refuses above 2 GiB, and a host tier is often larger. Same process, same
 * {@code libcuda.so.1}, same current context as JCuda's calls.
 */
final class MappedHostMemory implements AutoCloseable {

    private static final int CU_MEMHOSTALLOC_PORTABLE = 1;
    private static final int CU_MEMHOSTALLOC_DEVICEMAP = 2;
    private static final Driver DRIVER = new Driver();

    private final MemorySegment host;
    private final CUdeviceptr onDevice;

    private MappedHostMemory(MemorySegment host, CUdeviceptr onDevice) {
        this.host = host;
        this.onDevice = onDevice;
    }

    /** Allocates {@code bytes} in the current context; throws IllegalStateException naming the driver's status. */
    static MappedHostMemory allocate(long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment hostPointer = arena.allocate(ValueLayout.ADDRESS);
            check((int) DRIVER.alloc.invokeExact(hostPointer, bytes, CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_PORTABLE),
                    "cuMemHostAlloc of " + bytes + " bytes");
            MemorySegment host = hostPointer.get(ValueLayout.ADDRESS, 0);
            MemorySegment devicePointer = arena.allocate(ValueLayout.JAVA_LONG);
            int status = (int) DRIVER.devicePointer.invokeExact(devicePointer, host, 0);
            if (status != 0) {
                int ignored = (int) DRIVER.free.invokeExact(host);
                check(status, "cuMemHostGetDevicePointer");
            }
            // A CUdeviceptr at an address JCuda did not allocate: the null pointer moved by that address.
            return new MappedHostMemory(host, new CUdeviceptr().withByteOffset(devicePointer.get(ValueLayout.JAVA_LONG, 0)));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("pinned host memory: " + e, e);
        }
    }

    /** The memory's address as kernels see it. */
    CUdeviceptr onDevice() {
        return onDevice;
    }

    @Override
    public void close() {
        try {
            int ignored = (int) DRIVER.free.invokeExact(host);
        } catch (Throwable e) {
            // freed with the process then
        }
    }

    private static void check(int status, String call) {
        if (status != 0) {
            throw new IllegalStateException(call + " failed with CUresult " + status
                    + (status == 2 ? " (CUDA_ERROR_OUT_OF_MEMORY: not enough pinnable host memory)" : ""));
        }
    }

    /** The three driver entry points, bound on first use (only where the probe found a driver). */
    private static final class Driver {
        final MethodHandle alloc;
        final MethodHandle devicePointer;
        final MethodHandle free;

        Driver() {
            Linker linker = Linker.nativeLinker();
            SymbolLookup cuda = SymbolLookup.libraryLookup("libcuda.so.1", Arena.global());
            alloc = linker.downcallHandle(cuda.findOrThrow("cuMemHostAlloc"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
            devicePointer = linker.downcallHandle(cuda.findOrThrow("cuMemHostGetDevicePointer_v2"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            free = linker.downcallHandle(cuda.findOrThrow("cuMemFreeHost"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        }
    }
}
