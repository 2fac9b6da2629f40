// The model catalog (core/model_catalog.h) agrees with installer/get-models.sh: every offered model is
// a name the script knows, producing the file the app then looks for, with a checksum in
// models.sha256; sizes match the real files where they are present (models/); the recommended model is
// in the table.
#include "core/model_catalog.h"
#include "support/run_command.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace epic {
namespace {

namespace fs = std::filesystem;

const fs::path source_dir = EPIC_SOURCE_DIR;

std::string run(const std::string& command) { return test::run_command(command).out; }

TEST(core_model_catalog, every_entry_is_a_get_models_name_producing_its_file) {
    const fs::path script = source_dir / "installer/get-models.sh";
    ASSERT_TRUE(fs::exists(script)) << script;
    std::map<std::string, std::string> listed; // name -> file
    std::istringstream in(run("env -u EPIC_MODELS_LIST bash '" + script.string() + "' --list"));
    for (std::string name, file; in >> name >> file;) listed[name] = file;
    ASSERT_FALSE(listed.empty()) << "get-models.sh --list printed nothing";

    std::ifstream sums(source_dir / "installer/models.sha256");
    std::string sums_text((std::istreambuf_iterator<char>(sums)), std::istreambuf_iterator<char>());
    for (const catalog_model& m : model_catalog()) {
        ASSERT_TRUE(listed.count(m.name)) << m.name << " is not a get-models.sh name";
        EXPECT_EQ(listed[m.name], m.file) << m.name;
        EXPECT_NE(sums_text.find(std::string("  ") + m.file + "\n"), std::string::npos) << m.file << " has no sha256";
    }
}

TEST(core_model_catalog, sizes_match_the_real_files_where_present) {
    int checked = 0;
    for (const catalog_model& m : model_catalog()) {
        const fs::path f = test::local_model(m.file);
        std::error_code ec;
        if (!fs::is_regular_file(f, ec)) continue;
        EXPECT_EQ(fs::file_size(f), m.bytes) << f;
        ++checked;
    }
    if (checked == 0) GTEST_SKIP() << "no catalog model in " << test::models_dir() << " (installer/get-models.sh)";
}

TEST(core_model_catalog, the_recommended_model_is_in_the_table_and_the_table_is_smallest_first) {
    ASSERT_NE(find_catalog_model(recommended_model_name), nullptr);
    EXPECT_EQ(recommended_model().name, recommended_model_name);
    EXPECT_EQ(find_catalog_model("no-such-model"), nullptr);
    const auto c = model_catalog();
    for (size_t i = 1; i < c.size(); ++i) EXPECT_LT(c[i - 1].bytes, c[i].bytes) << c[i].name;
    for (const catalog_model& m : c) EXPECT_GT(std::string(m.expectation).size(), 10u) << m.name;
}

TEST(core_model_catalog, sizes_read_as_people_write_them) {
    EXPECT_EQ(size_text(98362432), "98 MB");
    EXPECT_EQ(size_text(491400064), "491 MB");
    EXPECT_EQ(size_text(1117320768), "1.1 GB");
    EXPECT_EQ(size_text(4600), "5 kB");
}

} // namespace
} // namespace epic
