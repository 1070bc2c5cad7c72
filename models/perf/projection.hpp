// One projection: a model on a device at a context, for a list of KV formats, with fp16 and
// "no KV cache" baselines; and its renderings (table, JSON, CSV, PNG curves).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/perf/hardware.hpp"
#include "models/perf/kv_format.hpp"
#include "models/perf/memory_model.hpp"
#include "workloads/model_zoo.hpp"
#include "models/perf/time_model.hpp"

namespace nqkv::perf {

struct ProjectionInput {
  ModelConfig model;
  Hardware hw;
  std::vector<KvFormat> formats;  // fp16 is added in front as the baseline when missing
  int64_t context = 2048;         // tokens per sequence at the end of generation
  int64_t gen = 256;              // output tokens; prompt = context - gen
  int64_t batch = 0;              // 0: each format at its own max batch; else this batch for all
  int64_t context_batch = 1;      // batch at which the max context is reported
  MemoryParams mem;
  TimeParams time;
};

struct FormatProjection {
  KvFormat format;
  double bits_per_element = 0, kv_bytes_per_token = 0, kv_bytes_per_seq = 0, per_seq_bytes = 0;
  int64_t max_batch = 0;           // at input.context
  int64_t max_context = 0;         // at input.context_batch
  bool beyond_model_positions = false;
  int64_t run_batch = 0;           // batch the time projection uses (0: does not fit)
  Generation gen;
  double batch_ratio = 0, context_ratio = 0, throughput_ratio = 0, vs_none_ratio = 0;
};

struct Projection {
  ProjectionInput input;
  MemoryBreakdown memory;  // fp16 page size; budget is format-independent
  std::vector<FormatProjection> rows;  // rows[0] = fp16 baseline
  FormatProjection none;               // "no KV cache" baseline
};

Projection project(const ProjectionInput& in);

std::string render_table(const Projection& p);
nlohmann::json to_json(const Projection& p);
std::string to_csv(const Projection& p);
// Curves for reports: batch vs context, gain vs context, context vs batch, throughput vs context,
// one PNG each plus curves.csv with every point, all in `dir`.
std::vector<std::string> write_plots(const ProjectionInput& in, const std::string& dir);

}  // namespace nqkv::perf
