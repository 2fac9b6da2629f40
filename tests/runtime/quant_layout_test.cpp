// Block layouts against an independent implementation: tests/data/quant/reference.txt holds raw
// blocks and the floats gguf-py's numpy dequantizer produced for them (make_reference.py).
#include "quant/blocks.h"
#include "quant/quant.h"

#include "core/tensor_type.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace epic {
namespace {

struct reference_row {
    std::string type_name;
    int64_t n = 0;
    std::vector<uint8_t> bytes;
    std::vector<uint32_t> float_bits;
};

std::vector<uint8_t> parse_hex(const std::string& hex) {
    std::vector<uint8_t> out(hex.size() / 2);
    for (size_t i = 0; i < out.size(); ++i) out[i] = (uint8_t)std::stoul(hex.substr(2 * i, 2), nullptr, 16);
    return out;
}

std::vector<reference_row> load_reference() {
    const std::string path = std::string(EPIC_SOURCE_DIR) + "/tests/data/quant/reference.txt";
    std::ifstream in(path);
    if (!in) ADD_FAILURE() << "cannot open " << path;
    std::vector<reference_row> rows;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string key;
        ls >> key;
        if (key == "type") {
            rows.emplace_back();
            ls >> rows.back().type_name >> rows.back().n;
        } else if (key == "bytes") {
            std::string hex;
            ls >> hex;
            rows.back().bytes = parse_hex(hex);
        } else if (key == "floats") {
            std::string h;
            while (ls >> h) rows.back().float_bits.push_back((uint32_t)std::stoul(h, nullptr, 16));
        }
    }
    return rows;
}

TEST(QuantLayout, BlockSizesMatchTypeTable) {
    EXPECT_EQ(traits(ggml_type::q8_0).block_bytes, sizeof(block_q8_0));
    EXPECT_EQ(traits(ggml_type::q4_0).block_bytes, sizeof(block_q4_0));
    EXPECT_EQ(traits(ggml_type::q4_1).block_bytes, sizeof(block_q4_1));
    EXPECT_EQ(traits(ggml_type::q5_0).block_bytes, sizeof(block_q5_0));
    EXPECT_EQ(traits(ggml_type::q5_1).block_bytes, sizeof(block_q5_1));
    EXPECT_EQ(traits(ggml_type::q4_k).block_bytes, sizeof(block_q4_k));
    EXPECT_EQ(traits(ggml_type::q5_k).block_bytes, sizeof(block_q5_k));
    EXPECT_EQ(traits(ggml_type::q6_k).block_bytes, sizeof(block_q6_k));
    EXPECT_EQ(traits(ggml_type::q8_k).block_bytes, sizeof(block_q8_k));
    EXPECT_EQ(offsetof(block_q6_k, d), 208u);
    EXPECT_EQ(offsetof(block_q5_k, qs), 48u);
    EXPECT_EQ(offsetof(block_q8_k, bsums), 260u);
    EXPECT_EQ(offsetof(block_q4_1, qs), 4u);
    EXPECT_EQ(offsetof(block_q5_0, qh), 2u);
    EXPECT_EQ(offsetof(block_q5_0, qs), 6u);
    EXPECT_EQ(offsetof(block_q5_1, qh), 4u);
    EXPECT_EQ(offsetof(block_q5_1, qs), 8u);
}

TEST(QuantLayout, DequantizeMatchesGgufPyBitExactly) {
    const auto rows = load_reference();
    ASSERT_GE(rows.size(), 15u);
    std::vector<std::string> seen;
    for (const auto& row : rows) {
        SCOPED_TRACE(row.type_name);
        const auto t = parse_type_name(row.type_name);
        ASSERT_TRUE(t.has_value());
        ASSERT_EQ(row.bytes.size(), row_bytes(*t, row.n));
        ASSERT_EQ(row.float_bits.size(), (size_t)row.n);
        std::vector<float> out(row.n);
        dequantize_row(*t, row.bytes.data(), out.data(), row.n);
        int mismatches = 0;
        for (int64_t i = 0; i < row.n; ++i) {
            uint32_t got;
            std::memcpy(&got, &out[i], 4);
            if (got != row.float_bits[i] && ++mismatches <= 5)
                ADD_FAILURE() << "element " << i << ": got " << out[i] << " (0x" << std::hex << got << "), expected 0x"
                              << row.float_bits[i] << std::dec;
        }
        EXPECT_EQ(mismatches, 0);
        seen.push_back(row.type_name);
    }
    for (const char* name : {"f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_K", "q5_K", "q6_K", "q8_K"})
        EXPECT_NE(std::find(seen.begin(), seen.end(), name), seen.end()) << name << " missing from the reference";
}

// get_scale_min_k4 inverts ggml's 6-bit packing for every sub-block index, with values that use the
// top two bits (which live in other bytes for j >= 4).
TEST(QuantLayout, ScaleMinPackingIsConsistent) {
    for (int j = 0; j < 8; ++j) {
        uint8_t packed[12] = {};
        // Hand-pack per ggml's rule: j<4 in the low 6 bits of bytes j / j+4; j>=4 split.
        const uint8_t ls = (uint8_t)(37 + j), lm = (uint8_t)(61 - j);
        if (j < 4) {
            packed[j] = ls;
            packed[j + 4] = lm;
        } else {
            packed[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
            packed[j - 4] |= (uint8_t)((ls >> 4) << 6);
            packed[j] |= (uint8_t)((lm >> 4) << 6);
        }
        uint8_t sc, m;
        get_scale_min_k4(j, packed, &sc, &m);
        EXPECT_EQ(sc, ls) << "sub-block " << j;
        EXPECT_EQ(m, lm) << "sub-block " << j;
    }
}

} // namespace
} // namespace epic
