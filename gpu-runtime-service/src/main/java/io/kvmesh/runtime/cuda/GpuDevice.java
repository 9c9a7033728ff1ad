package io.kvmesh.runtime.cuda;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * What {@link CudaBackend} asks of a device: memory, copies, kernel launches on two queues (compute and swaps) and
 * their ordering. {@link JCudaDevice} is an NVIDIA GPU through JCuda's driver API; the tests also run the backend on
 * an emulated device (the kernels compiled for the cpu), so its orchestration is checked where no GPU is.
 * Not thread-safe: the engine thread.
 */
interface GpuDevice extends AutoCloseable {

    /** A device address; {@link #plus} moves it by bytes. */
    interface Address {
        Address plus(long bytes);
    }

    enum Queue { COMPUTE, SWAP }

    /** Device memory, freed by {@link #close} or {@link #free}; its contents are undefined until written. */
    Address allocate(long bytes);

    void free(Address address);

    /** Pinned host memory mapped into the device's address space (the host tier of swapped-out KV). */
    Address allocateMappedHost(long bytes);

    /** Pinned host memory the queues copy to and from asynchronously, as a native-order direct buffer (< 2 GiB). */
    ByteBuffer allocatePinned(long bytes);

    void freePinned(ByteBuffer buffer);

    /** Copies host bytes to the device; returns once they may be reused (weights, norms). */
    void upload(Address to, MemorySegment from);

    /** Queues a copy of {@code bytes} from the start of a pinned buffer to the device. */
    void copyIn(Address to, ByteBuffer pinned, long bytes, Queue queue);

    /** Queues a copy of {@code bytes} from the device to the start of a pinned buffer. */
    void copyOut(ByteBuffer pinned, Address from, long bytes, Queue queue);

    /** Queues a copy within the device. */
    void copy(Address to, Address from, long bytes, Queue queue);

    /** Waits for everything queued, then copies device floats into {@code to}. */
    void download(float[] to, Address from);

    /** Queues setting {@code words} 32-bit words to {@code bits}. */
    void fill(Address to, int bits, long words, Queue queue);

    /**
     * Queues kernel {@code name} of {@code kvmesh.cu}; each argument is an {@link Address}, an {@link Integer}, a
     * {@link Long} (a {@code long long} parameter) or a {@link Float}.
     */
    void launch(String name, int[] grid, int block, int sharedBytes, Queue queue, Object... arguments);

    /** Work queued on {@code waiting} from now on starts only after the work queued so far on {@code first}. */
    void order(Queue first, Queue waiting);

    void synchronize(Queue queue);

    /** Milliseconds the device spends on the work {@code enqueue} puts on the compute queue. */
    float time(Runnable enqueue);

    /** Peak memory bandwidth in bytes/s (memory clock × bus width × 2), or NaN where unknown. */
    double peakBandwidth();

    /** Binds the device to the calling thread (a CUDA context is per thread). */
    void makeCurrent();

    /** Frees everything the device holds for this backend; safe after a failed start. */
    @Override
    void close();
}
