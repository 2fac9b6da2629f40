// Where the app keeps things (core/paths.h): XDG folders from a given environment, resources found
// beside an installed binary before the source tree, the default model where get-models.sh puts it.
#include "common/error.h"
#include "core/model_catalog.h"
#include "core/paths.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <fstream>

namespace epic {
namespace {

namespace fs = std::filesystem;

void touch(const fs::path& p) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "x";
}

TEST(core_paths, xdg_variables_win_over_home) {
    path_environment e;
    e.home = "/home/u";
    e.xdg_data_home = "/d";
    e.xdg_config_home = "/c";
    e.xdg_cache_home = "/k";
    const app_paths p = app_paths_from(e);
    EXPECT_EQ(p.data_dir, fs::path("/d/epic-desktop"));
    EXPECT_EQ(p.config_dir, fs::path("/c/epic-desktop"));
    EXPECT_EQ(p.cache_dir, fs::path("/k/epic-desktop"));
    EXPECT_EQ(p.library_dir(), fs::path("/d/epic-desktop/library"));
    EXPECT_EQ(p.models_dir(), fs::path("/d/epic-desktop/models"));
    EXPECT_EQ(p.settings_file(), fs::path("/c/epic-desktop/epic-desktop.conf"));
}

TEST(core_paths, unset_empty_or_relative_xdg_falls_back_to_home) {
    path_environment e;
    e.home = "/home/u";
    e.xdg_data_home = "relative/dir"; // the spec: relative values are invalid and ignored
    const app_paths p = app_paths_from(e);
    EXPECT_EQ(p.data_dir, fs::path("/home/u/.local/share/epic-desktop"));
    EXPECT_EQ(p.config_dir, fs::path("/home/u/.config/epic-desktop"));
    EXPECT_EQ(p.cache_dir, fs::path("/home/u/.cache/epic-desktop"));
}

TEST(core_paths, no_home_and_no_xdg_is_an_error_naming_the_variable) {
    path_environment e;
    try {
        app_paths_from(e);
        FAIL() << "expected an error";
    } catch (const error& err) {
        EXPECT_NE(std::string(err.what()).find("XDG_DATA_HOME"), std::string::npos) << err.what();
    }
}

TEST(core_paths, installed_resources_come_before_the_source_tree) {
    test::scratch_dir d;
    const fs::path prefix = d / "usr", source = d / "src";
    touch(prefix / "bin" / "epic");
    touch(prefix / "share/epic-desktop/sample-library/facts.json");
    touch(prefix / "share/epic-desktop/get-models.sh");
    touch(source / "resources/sample-library/facts.json");
    touch(source / "installer/get-models.sh");

    auto r = find_resources(prefix / "bin" / "epic", source);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->installed);
    EXPECT_EQ(r->sample_library, prefix / "share/epic-desktop/sample-library");
    EXPECT_EQ(r->facts, prefix / "share/epic-desktop/sample-library/facts.json");
    EXPECT_EQ(r->get_models_script, prefix / "share/epic-desktop/get-models.sh");
    EXPECT_TRUE(r->models_in_tree.empty());

    // A binary in a build tree: only the source tree has them.
    r = find_resources(d / "build/runtime/epic", source);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->installed);
    EXPECT_EQ(r->sample_library, source / "resources/sample-library");
    EXPECT_EQ(r->get_models_script, source / "installer/get-models.sh");
    EXPECT_EQ(r->models_in_tree, source / "models");

    // No source fallback (a package build) and nothing installed: nothing found.
    EXPECT_FALSE(find_resources(d / "build/runtime/epic", fs::path()));
}

TEST(core_paths, this_build_finds_the_repository_resources) {
    const auto r = find_resources(current_executable(), build_source_dir());
    if (build_source_dir().empty()) GTEST_SKIP() << "built with EPIC_SOURCE_RESOURCES=OFF";
    ASSERT_TRUE(r);
    EXPECT_TRUE(fs::exists(r->facts)) << r->facts;
    EXPECT_TRUE(fs::exists(r->get_models_script)) << r->get_models_script;
}

TEST(core_paths, default_model_prefers_the_xdg_models_folder) {
    test::scratch_dir d;
    path_environment e;
    e.home = (d / "home").string();
    const app_paths p = app_paths_from(e);
    resource_locations tree;
    tree.models_in_tree = d / "src/models";
    const char* file = recommended_model().file;

    EXPECT_FALSE(find_default_model(p, tree));
    touch(tree.models_in_tree / file);
    EXPECT_EQ(find_default_model(p, tree), tree.models_in_tree / file);
    touch(p.models_dir() / file);
    EXPECT_EQ(find_default_model(p, tree), p.models_dir() / file);
    EXPECT_EQ(find_default_model(p, std::nullopt), p.models_dir() / file);
}

TEST(core_paths, default_model_is_the_recommended_one_else_any_catalog_model_present) {
    test::scratch_dir d;
    path_environment e;
    e.home = (d / "home").string();
    const app_paths p = app_paths_from(e);
    const auto catalog = model_catalog();
    ASSERT_GE(catalog.size(), 2u);
    const catalog_model& other = std::string_view(catalog.back().name) == recommended_model_name ? catalog.front()
                                                                                                 : catalog.back();
    touch(p.models_dir() / "unrelated.gguf");
    EXPECT_FALSE(find_default_model(p, std::nullopt)) << "only catalog files count";
    touch(p.models_dir() / other.file);
    EXPECT_EQ(find_default_model(p, std::nullopt), p.models_dir() / other.file);
    touch(p.models_dir() / recommended_model().file);
    EXPECT_EQ(find_default_model(p, std::nullopt), p.models_dir() / recommended_model().file);
}

} // namespace
} // namespace epic
