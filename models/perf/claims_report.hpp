// The generator of reports/nqkv-claims.md: reproduces the NQKV paper's headline figures under
// stated set-ups and carries the validation tables (measured vs projected). Four parts:
//   claims_inputs.hpp  the inputs file and the readers of the external formats (SDPA, Google Benchmark, RTL cycles)
//   kernel_fit.hpp     the kernel-time fits and the measured-vs-projected rows
//   claims_tables.hpp  every table of the report as data
//   claims_report.hpp  (this file) the Markdown rendering
#pragma once
#include <string>

#include "models/perf/claims_inputs.hpp"
#include "models/perf/claims_tables.hpp"
#include "models/perf/kernel_fit.hpp"

namespace nqkv::perf {

std::string render_claims_report(const ClaimsTables& t);
// compute_claims_tables + render_claims_report.
std::string claims_report(const ClaimsReportInputs& in);

}  // namespace nqkv::perf
