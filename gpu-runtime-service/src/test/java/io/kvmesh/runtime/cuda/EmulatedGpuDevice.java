package io.kvmesh.runtime.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A {@link GpuDevice} whose kernels are {@code kvmesh.cu} compiled for the cpu ({@code src/test/cuda-emulation}: a
 * block's threads are fibers meeting at barriers and warp shuffles) and launched through the foreign-function API;
 * device memory is host memory, queues run each launch to its end, so ordering holds trivially. It lets the tests run
 * {@link CudaBackend} — uploads, staging layout, block tables, the decode/prefill split, launch arguments, swaps —
 * where no GPU is. Not modelled: asynchrony between queues, timing.
 */
final class EmulatedGpuDevice implements GpuDevice {

    private static final Path BUILD = Path.of("src/test/cuda-emulation/build-emulated-device.sh");
    /** Every address: device memory is process memory here. */
    private static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private record EmulatedAddress(long address) implements Address {
        @Override
        public Address plus(long bytes) {
            return new EmulatedAddress(address + bytes);
        }
    }

    private static MethodHandle launcher;
    private final Arena memory = Arena.ofShared();

    /** Builds (once per build tree) and loads the emulation library; throws IllegalStateException saying why not. */
    static synchronized EmulatedGpuDevice open() {
        if (launcher == null) {
            Path library = build();
            SymbolLookup lookup = SymbolLookup.libraryLookup(library, Arena.global());
            launcher = Linker.nativeLinker().downcallHandle(lookup.findOrThrow("kvmesh_emu_launch"),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        }
        return new EmulatedGpuDevice();
    }

    private static Path build() {
        try {
            Process process = new ProcessBuilder("bash", BUILD.toString()).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(300, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IllegalStateException("building the emulated device failed:\n" + output);
            }
            return Path.of(output.strip().lines().reduce((a, b) -> b).orElseThrow()).toAbsolutePath();
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot run " + BUILD + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while building the emulated device", e);
        }
    }

    private static long address(Address address) {
        return ((EmulatedAddress) address).address();
    }

    /** Where the buffer's memory starts (a segment of the buffer itself would start at its position). */
    private static long address(ByteBuffer buffer) {
        return MemorySegment.ofBuffer(buffer.duplicate().clear()).address();
    }

    @Override
    public Address allocate(long bytes) {
        return new EmulatedAddress(memory.allocate(Math.max(bytes, 4), 256).address());
    }

    @Override
    public void free(Address address) {
        // released with the arena
    }

    @Override
    public Address allocateMappedHost(long bytes) {
        return allocate(bytes);
    }

    @Override
    public ByteBuffer allocatePinned(long bytes) {
        return memory.allocate(Math.max(bytes, 4), 256).asByteBuffer().order(ByteOrder.nativeOrder());
    }

    @Override
    public void freePinned(ByteBuffer buffer) {
        // released with the arena
    }

    @Override
    public void upload(Address to, MemorySegment from) {
        MemorySegment.copy(from, 0, ALL, address(to), from.byteSize());
    }

    @Override
    public void copyIn(Address to, ByteBuffer pinned, long bytes, Queue queue) {
        MemorySegment.copy(ALL, address(pinned), ALL, address(to), bytes);
    }

    @Override
    public void copyOut(ByteBuffer pinned, Address from, long bytes, Queue queue) {
        MemorySegment.copy(ALL, address(from), ALL, address(pinned), bytes);
    }

    @Override
    public void copy(Address to, Address from, long bytes, Queue queue) {
        MemorySegment.copy(ALL, address(from), ALL, address(to), bytes);
    }

    @Override
    public void download(float[] to, Address from) {
        MemorySegment.copy(ALL, ValueLayout.JAVA_FLOAT, address(from), to, 0, to.length);
    }

    @Override
    public void fill(Address to, int bits, long words, Queue queue) {
        MemorySegment target = ALL.asSlice(address(to), words * Integer.BYTES);
        if (bits == 0) {
            target.fill((byte) 0);
            return;
        }
        for (long i = 0; i < words; i++) {
            target.setAtIndex(ValueLayout.JAVA_INT, i, bits);
        }
    }

    @Override
    public void launch(String name, int[] grid, int block, int sharedBytes, Queue queue, Object... arguments) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment pointers = call.allocate(ValueLayout.ADDRESS, Math.max(1, arguments.length));
            for (int i = 0; i < arguments.length; i++) {
                MemorySegment value = call.allocate(8, 8);
                switch (arguments[i]) {
                    case EmulatedAddress address -> value.set(ValueLayout.JAVA_LONG, 0, address.address());
                    case Integer number -> value.set(ValueLayout.JAVA_INT, 0, number);
                    case Long number -> value.set(ValueLayout.JAVA_LONG, 0, number);
                    case Float number -> value.set(ValueLayout.JAVA_FLOAT, 0, number);
                    default -> throw new IllegalArgumentException("kernel argument of type " + arguments[i].getClass());
                }
                pointers.setAtIndex(ValueLayout.ADDRESS, i, value);
            }
            MemorySegment error = (MemorySegment) launcher.invokeExact(call.allocateFrom(name), grid[0],
                    grid.length > 1 ? grid[1] : 1, grid.length > 2 ? grid[2] : 1, block, sharedBytes, pointers);
            if (!error.equals(MemorySegment.NULL)) {
                throw new IllegalStateException("kernel " + name + ": " + error.reinterpret(Long.MAX_VALUE).getString(0));
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("launching " + name + ": " + e, e);
        }
    }

    @Override
    public void order(Queue first, Queue waiting) {
        // every launch has finished when it returns
    }

    @Override
    public void synchronize(Queue queue) {
    }

    @Override
    public float time(Runnable enqueue) {
        long start = System.nanoTime();
        enqueue.run();
        return (System.nanoTime() - start) / 1e6f;
    }

    @Override
    public double peakBandwidth() {
        return Double.NaN;
    }

    @Override
    public void makeCurrent() {
    }

    @Override
    public void close() {
        if (memory.scope().isAlive()) {
            memory.close();
        }
    }
}
