package io.kvmesh.prefix.blocks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

/**
 * Known answers from an independent implementation: Debian's python3-xxhash (3.0.0) through
 * {@code prefix-index/src/test/python/block_hash_reference.py}; each test names the exact command (run from the
 * repository root) that printed its expected hashes.
 */
class BlockHasherTest {

    /** The generator the reference script's {@code --generated N} uses: (i * 2654435761 + 12345) mod 2^32. */
    static int[] generatedTokens(int count) {
        return IntStream.range(0, count).map(i -> (int) ((i * 2654435761L + 12345) % (1L << 32))).toArray();
    }

    private static String[] hex(long[] hashes) {
        return Arrays.stream(hashes).mapToObj(BlockHashFormat::format).toArray(String[]::new);
    }

    private static final int[] ZERO_TO_FIFTEEN = IntStream.range(0, 16).toArray();

    @Test
    void emptySaltOneBlock() {
        // prefix-index/src/test/python/block_hash_reference.py --model llama-3-8b --salt "" --block-size 16 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        assertThat(hex(new BlockHasher("llama-3-8b", "", 16).hashFullBlocks(ZERO_TO_FIFTEEN)))
                .containsExactly("12f97814221eb941");
    }

    @Test
    void saltChangesEveryHash() {
        // prefix-index/src/test/python/block_hash_reference.py --model llama-3-8b --salt tenant-a --block-size 16 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        assertThat(hex(new BlockHasher("llama-3-8b", "tenant-a", 16).hashFullBlocks(ZERO_TO_FIFTEEN)))
                .containsExactly("a0c0cd42e43057f0");
    }

    @Test
    void partialLastBlockIsIgnored() {
        // prefix-index/src/test/python/block_hash_reference.py --model meta-llama/Llama-3.2-1B --salt "" --block-size 16 --generated 40
        assertThat(hex(new BlockHasher("meta-llama/Llama-3.2-1B", "", 16).hashFullBlocks(generatedTokens(40))))
                .containsExactly("ae3710a649d9419d", "198d012e305146fb");
    }

    @Test
    void blockSize64() {
        // prefix-index/src/test/python/block_hash_reference.py --model meta-llama/Llama-3.2-1B --salt "" --block-size 64 --generated 128
        BlockHasher hasher = new BlockHasher("meta-llama/Llama-3.2-1B", "", 64);
        assertThat(hex(hasher.hashFullBlocks(generatedTokens(128))))
                .containsExactly("70cacb4e1fbdb38e", "419c4b4026e61722");
        // prefix-index/src/test/python/block_hash_reference.py --model meta-llama/Llama-3.2-1B --salt "" --block-size 64 --generated 191
        assertThat(hex(hasher.hashFullBlocks(generatedTokens(191))))
                .containsExactly("70cacb4e1fbdb38e", "419c4b4026e61722");
    }

    @Test
    void unicodeIdsAndTokenIdsAbove2To31() {
        // prefix-index/src/test/python/block_hash_reference.py --model "modèle-ü/λ" --salt "租户" --block-size 4 128000,4294967295,2147483648,7
        int[] tokens = {128000, BlockHasher.tokenId(4294967295L), BlockHasher.tokenId(2147483648L), 7};
        assertThat(hex(new BlockHasher("modèle-ü/λ", "租户", 4).hashFullBlocks(tokens)))
                .containsExactly("8022878b5b455405");
    }

    @Test
    void fewerTokensThanOneBlockHaveNoHash() {
        // prefix-index/src/test/python/block_hash_reference.py --model m --salt "" --block-size 16 1,2,3   (prints nothing)
        assertThat(new BlockHasher("m", "", 16).hashFullBlocks(new int[] {1, 2, 3})).isEmpty();
    }

    @Test
    void longChainOf64Blocks() {
        // prefix-index/src/test/python/block_hash_reference.py --model qwen --salt s --block-size 16 --generated 1024
        assertThat(hex(new BlockHasher("qwen", "s", 16).hashFullBlocks(generatedTokens(1024)))).containsExactly(
                "2d3dc310351ecd28", "448318a052231bd7", "f34e24eff4fb6bb2", "0855446c2046e8b5",
                "1142497fabc2730b", "d07d95fb4262da2c", "6c4253d7f2fff5b6", "ea2668ca2999c8b0",
                "1bc8e123ba49b41b", "412ad857df2dadf4", "a18c087e80613940", "d5199a3deeedbcc1",
                "fcc9f19725845b89", "6645b4b8c357d7c4", "50f1a3f44f8539c2", "1a1001af329908b6",
                "772b5e38e28841b4", "91692dd283f559ab", "ae5d14e84c24a8b9", "84671c531024b87e",
                "0b88a8d4ee1ce9bf", "93a23d083ff13915", "89f88fada427a7ba", "d2bdc63ab5d7d02f",
                "0d6363905ed66f91", "5cc12cf57d758fdb", "3fdc85a2071167f2", "c6eca8bbac2cdea4",
                "1f3de4e3026d1ac4", "afc030ca09c6ef73", "83705b768d9a8a63", "f2061d34f2a9aca1",
                "81f01a2189908971", "0ef9fbe643714d4c", "0b2ef1287ccdbf97", "417bb9a6fded63cc",
                "878abd23521ec007", "d0d8054d3c97d0f6", "d3bb93fef9403f17", "62be19243d1918b2",
                "7d6c721ee19c7f68", "1663401be49931c8", "fc0a02aecf1c28d6", "8142714c1ee4ec96",
                "d15f61ef811e145d", "e5d07e52bf4452af", "4328f86a95d613fa", "f8613b31415248c5",
                "618774322d960349", "7a37ba5856ac658f", "d38c806066a56b65", "0f8ade918675463c",
                "f4caa205ce88155b", "d72495c0cf1a4544", "fda941c7cbf94000", "e0ddbdf69438eb51",
                "167656e2f48a5801", "117105e5377e308a", "d5a415f990b5cfc1", "ad39f1670f48a027",
                "9fc5bd9e80b82cbd", "e2633d9a957802b9", "5e2b4a2483841a35", "3e3e53685c2cfccb");
    }

    @Test
    void hashBlockChainsLikeHashFullBlocks() {
        BlockHasher hasher = new BlockHasher("qwen", "s", 16);
        int[] tokens = generatedTokens(64);
        long[] all = hasher.hashFullBlocks(tokens);
        long parent = hasher.rootHash();
        for (int block = 0; block < all.length; block++) {
            parent = hasher.hashBlock(parent, tokens, block * 16);
            assertThat(parent).isEqualTo(all[block]);
        }
        assertThat(hasher.hashFullBlocks(tokens, 40)).containsExactly(all[0], all[1]);
    }

    @Test
    void rejectsBlockSizesOutsideTheRange() {
        for (int bad : new int[] {0, -1, -16, BlockHasher.MAX_BLOCK_SIZE + 1, Integer.MIN_VALUE}) {
            assertThatThrownBy(() -> new BlockHasher("m", "", bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("block size must be between 1 and 4096 tokens, got " + bad);
        }
    }

    @Test
    void rejectsTokenIdsOutside32Bits() {
        assertThat(BlockHasher.tokenId(0)).isZero();
        assertThat(BlockHasher.tokenIdValue(BlockHasher.tokenId(4294967295L))).isEqualTo(4294967295L);
        assertThatThrownBy(() -> BlockHasher.tokenId(-1))
                .hasMessage("token id -1 is outside 0..4294967295");
        assertThatThrownBy(() -> BlockHasher.tokenId(4294967296L))
                .hasMessage("token id 4294967296 is outside 0..4294967295");
    }

    @Test
    void rejectsAmbiguousOrMissingModelIdentity() {
        assertThatThrownBy(() -> new BlockHasher("", "", 16)).hasMessageContaining("modelId must not be empty");
        assertThatThrownBy(() -> new BlockHasher("a\0b", "", 16)).hasMessageContaining("NUL");
        assertThatThrownBy(() -> new BlockHasher("a", "b\0", 16)).hasMessageContaining("NUL");
        assertThatThrownBy(() -> new BlockHasher(null, "", 16)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void hexFormIsSixteenLowercaseDigitsBothWays() {
        assertThat(BlockHashFormat.format(0L)).isEqualTo("0000000000000000");
        assertThat(BlockHashFormat.format(-1L)).isEqualTo("ffffffffffffffff");
        assertThat(BlockHashFormat.parse("FFFFFFFFFFFFFFFF")).isEqualTo(-1L);
        assertThat(BlockHashFormat.parse("12f97814221eb941")).isEqualTo(0x12f97814221eb941L);
        for (String bad : new String[] {"", "12f97814221eb94", "12f97814221eb9411", "12f97814221eb94g", "+2f97814221eb941"}) {
            assertThatThrownBy(() -> BlockHashFormat.parse(bad)).hasMessageContaining("16 hex digits");
        }
    }
}
