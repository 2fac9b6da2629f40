#include "AppSettings.h"

#include "backend/settings.h"
#include "core/paths.h"
#include "embed/embedder_files.h"

#include <QDir>
#include <QSettings>

QString AppSettings::defaultLibraryDir() {
    try {
        return QString::fromStdString(epic::app_paths_from(epic::path_environment_from_process()).library_dir().string());
    } catch (const std::exception&) {
        // No usable HOME: a folder under the working directory beats refusing to start.
        return QDir::current().filePath("epic-library");
    }
}

QString AppSettings::defaultSettingsFile() {
    try {
        return QString::fromStdString(epic::app_paths_from(epic::path_environment_from_process()).settings_file().string());
    } catch (const std::exception&) {
        return QString();
    }
}

void AppSettings::load(QSettings& s) {
    const AppSettings d;
    libraryDir = s.value("library/folder", defaultLibraryDir()).toString();
    modelPath = s.value("model/path", d.modelPath).toString();
    device = s.value("model/device", d.device).toString();
    threads = s.value("model/threads", d.threads).toInt();
    linkAlgorithm = s.value("link/algorithm", d.linkAlgorithm).toString();
    legolinkK = s.value("link/legolinkK", d.legolinkK).toInt();
    cacheblendRatio = s.value("link/cacheblendRatio", d.cacheblendRatio).toDouble();
    retrievedChunks = s.value("retrieval/chunks", d.retrievedChunks).toInt();
    retrievalMode = s.value("retrieval/mode", d.retrievalMode).toString();
    chunkTokens = s.value("library/chunkTokens", d.chunkTokens).toInt();
    contextTokens = s.value("model/contextTokens", d.contextTokens).toInt();
    cacheBudgetMb = s.value("cache/budgetMb", d.cacheBudgetMb).toInt();
    cacheFormat = s.value("cache/format", d.cacheFormat).toString();
    compileOnAdd = s.value("library/compileOnAdd", d.compileOnAdd).toBool();
    idleCompileSeconds = s.value("library/idleCompileSeconds", d.idleCompileSeconds).toInt();
    maxTokens = s.value("sampling/maxTokens", d.maxTokens).toInt();
    temperature = s.value("sampling/temperature", d.temperature).toDouble();
    topK = s.value("sampling/topK", d.topK).toInt();
    topP = s.value("sampling/topP", d.topP).toDouble();
    seed = s.value("sampling/seed", d.seed).toLongLong();
    stopAtEos = s.value("sampling/stopAtEos", d.stopAtEos).toBool();
    firstRunDone = s.value("app/firstRunDone", d.firstRunDone).toBool();
}

void AppSettings::save(QSettings& s) const {
    s.setValue("library/folder", libraryDir);
    s.setValue("model/path", modelPath);
    s.setValue("model/device", device);
    s.setValue("model/threads", threads);
    s.setValue("link/algorithm", linkAlgorithm);
    s.setValue("link/legolinkK", legolinkK);
    s.setValue("link/cacheblendRatio", cacheblendRatio);
    s.setValue("retrieval/chunks", retrievedChunks);
    s.setValue("retrieval/mode", retrievalMode);
    s.setValue("library/chunkTokens", chunkTokens);
    s.setValue("model/contextTokens", contextTokens);
    s.setValue("cache/budgetMb", cacheBudgetMb);
    s.setValue("cache/format", cacheFormat);
    s.setValue("library/compileOnAdd", compileOnAdd);
    s.setValue("library/idleCompileSeconds", idleCompileSeconds);
    s.setValue("sampling/maxTokens", maxTokens);
    s.setValue("sampling/temperature", temperature);
    s.setValue("sampling/topK", topK);
    s.setValue("sampling/topP", topP);
    s.setValue("sampling/seed", seed);
    s.setValue("sampling/stopAtEos", stopAtEos);
    s.setValue("app/firstRunDone", firstRunDone);
    s.sync();
}

QString AppSettings::policyName() const {
    if (linkAlgorithm == "default") return QString::fromLatin1(epic::link_policy::app_default_name);
    if (linkAlgorithm == "legolink") return QString("legolink-%1").arg(legolinkK);
    if (linkAlgorithm == "cacheblend") return QString("cacheblend-%1").arg(cacheblendRatio);
    return linkAlgorithm;
}

epic::kv_format AppSettings::kvFormat() const {
    if (cacheFormat == "default") return epic::default_cache_format;
    try {
        return epic::parse_kv_format(cacheFormat.toStdString());
    } catch (const std::exception&) {
        return epic::default_cache_format; // a settings file of a newer version: its format is unknown here
    }
}

epic::retrieval_mode AppSettings::retrieval() const {
    if (retrievalMode == "default") return epic::default_retrieval_mode;
    try {
        return epic::parse_retrieval_mode(retrievalMode.toStdString());
    } catch (const std::exception&) {
        return epic::default_retrieval_mode; // a settings file of a newer version
    }
}

bool AppSettings::sameServiceAs(const AppSettings& o) const {
    return libraryDir == o.libraryDir && modelPath == o.modelPath && device == o.device && threads == o.threads &&
           chunkTokens == o.chunkTokens && contextTokens == o.contextTokens && cacheBudgetMb == o.cacheBudgetMb &&
           policyName() == o.policyName() && kvFormat() == o.kvFormat() && compileOnAdd == o.compileOnAdd &&
           retrieval() == o.retrieval();
}

epic::service_params AppSettings::serviceParams(bool withModel) const {
    epic::service_params p = epic::service_default_params();
    p.library_dir = libraryDir.toStdString();
    p.model_path = withModel ? modelPath.toStdString() : std::string();
    // The environment (EPIC_DEVICE, EPIC_THREADS) gives defaults; an explicit setting wins.
    p.backend = epic::backend_params_from_environment(p.backend);
    if (device != "auto") p.backend.device = device.toStdString();
    if (threads > 0) p.backend.n_threads = threads;
    p.chunk_tokens = chunkTokens;
    p.context_tokens = std::max(0, contextTokens);
    p.cache_budget_bytes = (uint64_t)std::max(0, cacheBudgetMb) * 1024ull * 1024ull;
    p.cache_format = kvFormat();
    p.compile_on_add = compileOnAdd;
    p.retrieval = retrieval();
    try {
        p.embedder_dir = epic::find_embedder_dir(epic::app_paths_from(epic::path_environment_from_process()),
                                                 epic::find_resources(epic::current_executable(), epic::build_source_dir()));
    } catch (const std::exception&) {
        // No usable HOME: no embedding model either; questions search by words.
    }
    // Documents are compiled for the chosen policy's scheme (askOptions reports a bad name).
    try {
        p.policy = epic::link_policy::parse(policyName().toStdString());
    } catch (const std::exception&) {
    }
    return p;
}

bool AppSettings::askOptions(epic::ask_options* out, int seedOffset, QString* error) const {
    try {
        out->policy = epic::link_policy::parse(policyName().toStdString());
    } catch (const std::exception& e) {
        if (error) *error = QString::fromStdString(e.what());
        return false;
    }
    out->top_n = retrievedChunks;
    out->generation.max_tokens = maxTokens;
    out->generation.stop_at_eos = stopAtEos;
    out->generation.sampling.temperature = (float)temperature;
    out->generation.sampling.top_k = topK;
    out->generation.sampling.top_p = (float)topP;
    out->generation.sampling.seed = (uint64_t)(seed + seedOffset);
    return true;
}
