// nq_stream_check: simulation-only checker of one valid/ready stream, the AXI-Stream rule of
// rtl/doc/protocol.md: once valid is high while ready is low, valid stays high and data stays
// stable until the beat transfers (valid && ready at a rising edge). Instantiated by
// nq_accel_top on every stream (`ifndef SYNTHESIS), inputs (the driver's obligation) and outputs
// (the DUT's own). Failures report "<instance path>: <stream>: <rule>" through `NQ_ASSERT
// (nq_assert.svh). The body is empty under SYNTHESIS. Latency/throughput: none (observes only).
`include "nq_assert.svh"
module nq_stream_check #(
  parameter int W = 8
) (
  input logic         clk,
  input logic         rst_n,
  input logic         valid,
  input logic         ready,
  input logic [W-1:0] data
);
`ifndef SYNTHESIS
  logic wait_q;         // the previous cycle had valid && !ready
  logic [W-1:0] data_q;  // the previous cycle's data
  always @(posedge clk or negedge rst_n) begin
    if (!rst_n) begin
      wait_q <= 1'b0;
    end else begin
      if (wait_q) begin
        `NQ_ASSERT(valid, "valid dropped before ready (valid must be held until the transfer)")
        `NQ_ASSERT(data == data_q, "data changed while valid && !ready (data must be stable until the transfer)")
      end
      wait_q <= valid && !ready;
    end
  end
  always @(posedge clk) data_q <= data;
`endif
endmodule
