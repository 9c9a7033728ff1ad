package io.kvmesh.runtime.cuda;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jcuda.CudaException;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR;

/**
 * Finds out once per process whether the cuda backend can run here: loads JCuda's driver binding (which needs the
 * driver's {@code libcuda.so.1}), initializes the driver, looks at device 0 and loads the shipped kernels on it. Any
 * failure becomes a reason instead of an exception, so {@code auto} falls back to {@code cpu} with one line.
 * This class and the others of this package are the only ones that touch JCuda.
 */
public final class CudaProbe {

    private static CudaAvailability result;

    private CudaProbe() {
    }

    public static synchronized CudaAvailability availability() {
        if (result == null) {
            result = probe();
        }
        return result;
    }

    private static CudaAvailability probe() {
        try {
            loadDriverBinding();
        } catch (LinkageError e) {
            return CudaAvailability.unavailable("no CUDA driver library (libcuda.so.1) could be loaded: " + linkFailure(e));
        }
        try {
            JCudaDriver.setExceptionsEnabled(true);
            JCudaDriver.cuInit(0);
            int[] count = new int[1];
            JCudaDriver.cuDeviceGetCount(count);
            if (count[0] == 0) {
                return CudaAvailability.unavailable("no CUDA device (the driver found none)");
            }
            CUdevice device = new CUdevice();
            JCudaDriver.cuDeviceGet(device, 0);
            byte[] name = new byte[256];
            JCudaDriver.cuDeviceGetName(name, name.length, device);
            String deviceName = new String(name, 0, indexOfNul(name)).trim();
            int[] major = new int[1];
            int[] minor = new int[1];
            JCudaDriver.cuDeviceGetAttribute(major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
            JCudaDriver.cuDeviceGetAttribute(minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
            if (major[0] < CudaAvailability.MIN_COMPUTE_MAJOR) {
                return CudaAvailability.unavailable("unsupported architecture: " + deviceName + " has compute capability "
                        + major[0] + "." + minor[0] + ", the kernels need " + CudaAvailability.MIN_COMPUTE_MAJOR + ".0 or newer");
            }
            String loadFailure = kernelLoadFailure(device);
            if (loadFailure != null) {
                return CudaAvailability.unavailable(deviceName + " cannot load the kernels: " + loadFailure);
            }
            return CudaAvailability.of(deviceName, major[0], minor[0]);
        } catch (CudaException e) {
            String message = e.getMessage();
            return CudaAvailability.unavailable(message != null && message.contains("CUDA_ERROR_NO_DEVICE")
                    ? "no CUDA device (CUDA_ERROR_NO_DEVICE)" : "the CUDA driver failed: " + message);
        }
    }

    /** The kernels' PTX is ISA 9.0 (nvcc 13), which drivers before R580 reject: try loading them once. */
    private static String kernelLoadFailure(CUdevice device) {
        CUcontext context = new CUcontext();
        JCudaDriver.cuDevicePrimaryCtxRetain(context, device);
        try {
            JCudaDriver.cuCtxSetCurrent(context);
            CUmodule module = new CUmodule();
            int status = JCudaDriver.cuModuleLoadData(module, CudaKernels.fatbin());
            if (status != CUresult.CUDA_SUCCESS) {
                return CUresult.stringFor(status);
            }
            JCudaDriver.cuModuleUnload(module);
            return null;
        } catch (CudaException e) {
            return e.getMessage() + (e.getMessage() != null && e.getMessage().contains("PTX") ? " (the driver predates R580?)" : "");
        } finally {
            JCudaDriver.cuDevicePrimaryCtxRelease(device);
        }
    }

    /**
     * JCuda extracts its native library into {@code java.io.tmpdir} under a fixed name and reuses a file already there,
     * so two processes starting together could load one half-written: each process extracts into a folder of its own.
     */
    private static void loadDriverBinding() {
        String tmp = System.getProperty("java.io.tmpdir");
        try {
            Path own = Files.createTempDirectory("kvmesh-jcuda-");
            own.toFile().deleteOnExit();
            System.setProperty("java.io.tmpdir", own.toString());
            try {
                JCudaDriver.cuDriverGetVersion(new int[1]);
            } finally {
                try (var files = Files.list(own)) {
                    files.forEach(file -> file.toFile().deleteOnExit());  // registered after the folder: deleted first
                }
            }
        } catch (IOException e) {
            throw new UnsatisfiedLinkError("cannot make a folder for JCuda's native library: " + e.getMessage());
        } finally {
            System.setProperty("java.io.tmpdir", tmp);
        }
    }

    /**
     * The line that says why, out of JCuda's message (which nests the stack traces of every way it tried): the
     * dynamic loader's complaint about {@code libcuda.so.1} when there is one, else the message's first line.
     */
    static String linkFailure(Throwable e) {
        String message = String.valueOf(e.getMessage());
        Matcher loader = LOADER_COMPLAINT.matcher(message);
        String last = null;
        while (loader.find()) {
            last = loader.group(1);
        }
        return last != null ? last : message.lines().findFirst().orElse(e.getClass().getSimpleName());
    }

    private static final Pattern LOADER_COMPLAINT = Pattern.compile("(libcuda\\.so[.0-9]*: [^\\n]*)");

    private static int indexOfNul(byte[] bytes) {
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == 0) {
                return i;
            }
        }
        return bytes.length;
    }
}
