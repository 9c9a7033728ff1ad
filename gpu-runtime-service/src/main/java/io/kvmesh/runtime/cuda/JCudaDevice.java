package io.kvmesh.runtime.cuda;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUctx_flags;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE;

/**
 * Device 0 through JCuda's driver API: its primary context, the shipped kernels ({@link CudaKernels}), two
 * non-blocking streams (compute and swaps) ordered by events, and every allocation made, freed on {@link #close}.
 */
final class JCudaDevice implements GpuDevice {

    private record JCudaAddress(CUdeviceptr pointer) implements Address {
        @Override
        public Address plus(long bytes) {
            return new JCudaAddress(pointer.withByteOffset(bytes));
        }
    }

    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final CUstream compute = new CUstream();
    private final CUstream swaps = new CUstream();
    private final CUevent ordering = new CUevent();
    private final List<CUdeviceptr> allocations = new ArrayList<>();
    private final Map<ByteBuffer, Pointer> pinned = new IdentityHashMap<>();
    private final List<MappedHostMemory> mapped = new ArrayList<>();
    /** How to destroy each stream and event made so far. */
    private final List<Runnable> created = new ArrayList<>();
    private CudaKernels kernels;
    private boolean closed;

    private JCudaDevice() {
    }

    /** Device 0, after {@link CudaProbe} found it usable; throws CudaException (and frees what it made) when it fails. */
    static JCudaDevice open() {
        JCudaDevice opened = new JCudaDevice();
        try {
            opened.start();
            return opened;
        } catch (RuntimeException e) {
            opened.close();
            throw e;
        }
    }

    private void start() {
        JCudaDriver.setExceptionsEnabled(true);
        JCudaDriver.cuDeviceGet(device, 0);
        // Mapped host memory (the host tier) wants CU_CTX_MAP_HOST; with unified addressing it works regardless, and
        // a primary context another library already started keeps its flags.
        quietly(() -> JCudaDriver.cuDevicePrimaryCtxSetFlags(device, CUctx_flags.CU_CTX_MAP_HOST));
        JCudaDriver.cuDevicePrimaryCtxRetain(context, device);
        created.add(() -> quietly(() -> JCudaDriver.cuDevicePrimaryCtxRelease(device)));
        JCudaDriver.cuCtxSetCurrent(context);
        kernels = new CudaKernels();
        for (CUstream stream : new CUstream[] {compute, swaps}) {
            JCudaDriver.cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING);
            created.add(() -> quietly(() -> JCudaDriver.cuStreamDestroy(stream)));
        }
        JCudaDriver.cuEventCreate(ordering, CUevent_flags.CU_EVENT_DISABLE_TIMING);
        created.add(() -> quietly(() -> JCudaDriver.cuEventDestroy(ordering)));
    }

    private CUstream stream(Queue queue) {
        return queue == Queue.COMPUTE ? compute : swaps;
    }

    private static CUdeviceptr pointer(Address address) {
        return ((JCudaAddress) address).pointer();
    }

    @Override
    public Address allocate(long bytes) {
        CUdeviceptr pointer = new CUdeviceptr();
        JCudaDriver.cuMemAlloc(pointer, Math.max(bytes, 4));
        allocations.add(pointer);
        return new JCudaAddress(pointer);
    }

    @Override
    public void free(Address address) {
        CUdeviceptr pointer = pointer(address);
        JCudaDriver.cuMemFree(pointer);
        allocations.remove(pointer);
    }

    @Override
    public Address allocateMappedHost(long bytes) {
        MappedHostMemory memory = MappedHostMemory.allocate(bytes);
        mapped.add(memory);
        return new JCudaAddress(memory.onDevice());
    }

    @Override
    public ByteBuffer allocatePinned(long bytes) {
        Pointer pointer = new Pointer();
        JCudaDriver.cuMemHostAlloc(pointer, Math.max(bytes, 4), 0);
        ByteBuffer buffer = pointer.getByteBuffer(0, Math.max(bytes, 4)).order(ByteOrder.nativeOrder());
        pinned.put(buffer, pointer);
        return buffer;
    }

    @Override
    public void freePinned(ByteBuffer buffer) {
        Pointer pointer = pinned.remove(buffer);
        if (pointer != null) {
            JCudaDriver.cuMemFreeHost(pointer);
        }
    }

    @Override
    public void upload(Address to, MemorySegment from) {
        long chunk = 1L << 30;  // a ByteBuffer view holds at most 2 GB
        for (long offset = 0; offset < from.byteSize(); offset += chunk) {
            long length = Math.min(chunk, from.byteSize() - offset);
            ByteBuffer slice = from.isNative() ? from.asSlice(offset, length).asByteBuffer()
                    : ByteBuffer.allocateDirect((int) length).put(from.asSlice(offset, length).asByteBuffer()).flip();
            JCudaDriver.cuMemcpyHtoD(pointer(to.plus(offset)), Pointer.to(slice), length);
        }
        // The legacy stream's copies may still be landing; the non-blocking streams would not wait for them.
        JCudaDriver.cuCtxSynchronize();
    }

    @Override
    public void copyIn(Address to, ByteBuffer pinnedBuffer, long bytes, Queue queue) {
        JCudaDriver.cuMemcpyHtoDAsync(pointer(to), pinnedPointer(pinnedBuffer), bytes, stream(queue));
    }

    @Override
    public void copyOut(ByteBuffer pinnedBuffer, Address from, long bytes, Queue queue) {
        JCudaDriver.cuMemcpyDtoHAsync(pinnedPointer(pinnedBuffer), pointer(from), bytes, stream(queue));
    }

    private Pointer pinnedPointer(ByteBuffer buffer) {
        Pointer pointer = pinned.get(buffer);
        if (pointer == null) {
            throw new IllegalArgumentException("not a pinned buffer of this device");
        }
        return pointer;
    }

    @Override
    public void copy(Address to, Address from, long bytes, Queue queue) {
        JCudaDriver.cuMemcpyDtoDAsync(pointer(to), pointer(from), bytes, stream(queue));
    }

    @Override
    public void download(float[] to, Address from) {
        JCudaDriver.cuCtxSynchronize();
        JCudaDriver.cuMemcpyDtoH(Pointer.to(to), pointer(from), (long) to.length * Float.BYTES);
    }

    @Override
    public void fill(Address to, int bits, long words, Queue queue) {
        JCudaDriver.cuMemsetD32Async(pointer(to), bits, words, stream(queue));
    }

    @Override
    public void launch(String name, int[] grid, int block, int sharedBytes, Queue queue, Object... arguments) {
        Object[] values = arguments.clone();
        for (int i = 0; i < values.length; i++) {
            if (values[i] instanceof JCudaAddress address) {
                values[i] = address.pointer();
            }
        }
        kernels.launch(name, grid, block, sharedBytes, stream(queue), values);
    }

    @Override
    public void order(Queue first, Queue waiting) {
        JCudaDriver.cuEventRecord(ordering, stream(first));
        JCudaDriver.cuStreamWaitEvent(stream(waiting), ordering, 0);
    }

    @Override
    public void synchronize(Queue queue) {
        JCudaDriver.cuStreamSynchronize(stream(queue));
    }

    @Override
    public float time(Runnable enqueue) {
        CUevent start = new CUevent();
        CUevent end = new CUevent();
        JCudaDriver.cuEventCreate(start, CUevent_flags.CU_EVENT_DEFAULT);
        JCudaDriver.cuEventCreate(end, CUevent_flags.CU_EVENT_DEFAULT);
        try {
            JCudaDriver.cuEventRecord(start, compute);
            enqueue.run();
            JCudaDriver.cuEventRecord(end, compute);
            JCudaDriver.cuEventSynchronize(end);
            float[] millis = new float[1];
            JCudaDriver.cuEventElapsedTime(millis, start, end);
            return millis[0];
        } finally {
            JCudaDriver.cuEventDestroy(start);
            JCudaDriver.cuEventDestroy(end);
        }
    }

    @Override
    public double peakBandwidth() {
        int[] clockKhz = new int[1];
        int[] busBits = new int[1];
        JCudaDriver.cuDeviceGetAttribute(clockKhz, CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE, device);
        JCudaDriver.cuDeviceGetAttribute(busBits, CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH, device);
        return clockKhz[0] * 1e3 * 2 * busBits[0] / 8;
    }

    @Override
    public void makeCurrent() {
        JCudaDriver.cuCtxSetCurrent(context);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        quietly(() -> JCudaDriver.cuCtxSetCurrent(context));
        quietly(JCudaDriver::cuCtxSynchronize);
        allocations.forEach(pointer -> quietly(() -> JCudaDriver.cuMemFree(pointer)));
        allocations.clear();
        pinned.values().forEach(pointer -> quietly(() -> JCudaDriver.cuMemFreeHost(pointer)));
        pinned.clear();
        mapped.forEach(MappedHostMemory::close);
        mapped.clear();
        if (kernels != null) {
            quietly(kernels::close);
        }
        // Streams and events, then the context's release: the reverse of their creation.
        for (int i = created.size() - 1; i >= 0; i--) {
            created.get(i).run();
        }
        created.clear();
    }

    /** A release step that fails (the context is already broken) must not stop the others. */
    private static void quietly(Runnable release) {
        try {
            release.run();
        } catch (CudaException e) {
            // nothing more can be freed through this handle
        }
    }
}
