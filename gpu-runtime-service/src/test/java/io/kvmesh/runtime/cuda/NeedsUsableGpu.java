package io.kvmesh.runtime.cuda;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Runs a test only where the cuda backend can run; elsewhere each test is reported skipped with the probe's reason. */
public final class NeedsUsableGpu implements ExecutionCondition {

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        CudaAvailability cuda = CudaProbe.availability();
        return cuda.available() ? ConditionEvaluationResult.enabled("GPU: " + cuda.reason())
                : ConditionEvaluationResult.disabled("no usable GPU: " + cuda.reason());
    }
}
