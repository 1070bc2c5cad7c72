// nq_assert.svh: the RTL's simulation-only assertions (OpenTitan-style macros, immediate
// assertions in clocked blocks, the Verilator 5.006 / Yosys 0.23 common subset). Everything here
// is `ifndef SYNTHESIS: Yosys (which defines SYNTHESIS; tools/area passes -DSYNTHESIS too) never
// sees an assertion, so the synthesized netlist does not depend on them.
//   `NQ_ASSERT(cond, "rule")  inside an always block at posedge clk, under rst_n: on failure
//   reports "<instance path>: rule". Verilator (--assert, the nqkv builds) calls the DPI function
//   nq_assert_fail(msg), implemented by sim/rtl/dut_models.cpp, which queues the message for
//   Dut::take_errors() and lets the simulation go on; other simulators get $error.
`ifndef NQ_ASSERT_SVH
`define NQ_ASSERT_SVH
`ifndef SYNTHESIS
`ifdef VERILATOR
import "DPI-C" function void nq_assert_fail(input string msg);
`define NQ_ASSERT(cond, rule) assert (cond) else nq_assert_fail($sformatf("%m: %s", rule));
`else
`define NQ_ASSERT(cond, rule) assert (cond) else $error("%m: %s", rule);
`endif
`endif
`endif
