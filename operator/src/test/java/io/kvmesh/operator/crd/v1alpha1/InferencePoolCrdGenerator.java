package io.kvmesh.operator.crd.v1alpha1;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.crdv2.generator.CRDGenerationInfo;
import io.fabric8.crdv2.generator.CRDGenerator;
import io.fabric8.crdv2.generator.CRDPostProcessor;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;

/**
 * Writes the InferencePool CRD YAML with fabric8's CRD generator v2, the generator QOSDK itself uses, at the version the
 * Quarkus BOM pins. The one change to its output: printer columns come in the order they are declared on
 * {@link InferencePool} (the generator sorts them by JSON path, which would put AGE first).
 */
final class InferencePoolCrdGenerator {

    /** The generator's name for the file: {@code PLURAL.GROUP-APIEXTENSIONSVERSION.yml}. */
    static final String FILE_NAME = InferencePool.CRD_NAME + "-v1.yml";

    private InferencePoolCrdGenerator() {
    }

    /** Generates the CRD into {@code outputDir} and returns the file written. */
    static Path generate(Path outputDir) throws IOException {
        Files.createDirectories(outputDir);
        CRDGenerationInfo generated = new CRDGenerator()
                .customResourceClasses(InferencePool.class)
                .forCRDVersions("v1")
                .withMinQuotes(true)
                .withPostProcessor(new PrinterColumnsInDeclaredOrder())
                .inOutputDir(outputDir.toFile())
                .detailedGenerate();
        Path file = Path.of(generated.getCRDInfos(InferencePool.CRD_NAME).get("v1").getFilePath());
        if (!file.getFileName().toString().equals(FILE_NAME)) {
            throw new IllegalStateException("the generator wrote " + file + ", expected " + FILE_NAME);
        }
        return file;
    }

    /** The printer column names in the order of the {@link AdditionalPrinterColumn} annotations on the class. */
    static List<String> declaredPrinterColumns() {
        return Stream.of(InferencePool.class.getAnnotationsByType(AdditionalPrinterColumn.class))
                .map(AdditionalPrinterColumn::name)
                .toList();
    }

    private static final class PrinterColumnsInDeclaredOrder implements CRDPostProcessor {
        @Override
        public HasMetadata process(HasMetadata crd, String crdSpecVersion) {
            List<String> order = declaredPrinterColumns();
            ((CustomResourceDefinition) crd).getSpec().getVersions().forEach(version -> version
                    .getAdditionalPrinterColumns()
                    .sort(Comparator.comparingInt((CustomResourceColumnDefinition column) -> position(order, column))));
            return crd;
        }

        private static int position(List<String> order, CustomResourceColumnDefinition column) {
            int position = order.indexOf(column.getName());
            if (position < 0) {
                throw new IllegalStateException("printer column " + column.getName() + " is not declared on "
                        + InferencePool.class.getSimpleName());
            }
            return position;
        }
    }
}
