// nqkv backends: every backend of the registry (golden/backend.hpp), whether it is built into
// this binary and can run here, with the reason when not; cycle models list their LANES builds
// and the accelerator parameters of each (models/accel/accel_config.hpp).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "golden/backend.hpp"
#include "models/accel/accel_config.hpp"
#include "tools/nqkv/commands.hpp"

namespace {

void run_backends(bool json) {
  nlohmann::json j = nlohmann::json::array();
  if (!json) fmt::print("{:<8} {:<13} {:<10} {}\n", "backend", "status", "LANES", "what / why not");
  for (const auto& e : nqkv::backend::entries()) {
    std::string status = "not built", why = e.not_built, lanes;
    nlohmann::json o{{"name", e.name}, {"built", e.backend != nullptr}};
    if (e.backend) {
      std::string reason;
      const bool ok = e.backend->available(&reason);
      status = ok ? "available" : "unavailable";
      why = ok ? e.backend->description() : reason;
      o["available"] = ok;
      o["description"] = e.backend->description();
      o["has_cycles"] = e.backend->has_cycles();
      if (!ok) o["reason"] = reason;
      const auto built = e.backend->lanes();
      if (!built.empty()) {
        lanes = fmt::format("{}", fmt::join(built, ","));
        o["lanes"] = built;
        o["default_lanes"] = e.backend->default_lanes();
        for (int l : built) {
          const auto c = nqkv::accel::AccelConfig::sim(l);
          o["configs"].push_back({{"lanes", c.lanes}, {"block_max", c.block_max}, {"bits_max", c.bits_max}, {"dmax", c.dmax},
                                  {"acc_w", c.acc_w}, {"div_sps", c.div_sps}});
        }
      }
    } else {
      o["available"] = false;
      o["reason"] = e.not_built;
    }
    j.push_back(o);
    if (!json) fmt::print("{:<8} {:<13} {:<10} {}\n", e.name, status, lanes.empty() ? "-" : lanes, why);
  }
  if (json) fmt::print("{}\n", nlohmann::json{{"backends", j}}.dump(2));
}

}  // namespace

NQKV_COMMAND(backends) {
  auto* c = app.add_subcommand("backends", "List the backends: built, available here, LANES builds, or why not");
  auto json = std::make_shared<bool>(false);
  c->add_flag("--json", *json, "Machine-readable output");
  c->callback([json] { run_backends(*json); });
}
