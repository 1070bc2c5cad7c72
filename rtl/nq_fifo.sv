// nq_fifo: synchronous first-in first-out buffer, DEPTH (a power of two) entries of W bits.
// push and pop may happen in the same cycle; the head entry is readable combinationally
// (show-ahead). No internal protection: the owner never pushes when full (unless it pops in the
// same cycle) or pops when empty; simulation-only assertions check both (`ifndef SYNTHESIS).
// Latency: an entry pushed in cycle n is visible at the head in cycle n+1. Throughput: one push
// and one pop per cycle.
`include "nq_assert.svh"
module nq_fifo #(
  parameter int W = 8,
  parameter int DEPTH = 16,
  localparam int AW = $clog2(DEPTH)
) (
  input  logic         clk,
  input  logic         rst_n,
  input  logic         push,
  input  logic [W-1:0] din,
  input  logic         pop,
  output logic [W-1:0] dout,
  output logic         empty,
  output logic         full,
  output logic [AW:0]  count
);
  logic [W-1:0] mem [0:DEPTH-1];
  logic [AW-1:0] wp, rp;
  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) begin
      wp <= '0;
      rp <= '0;
      count <= '0;
    end else begin
      if (push) wp <= wp + 1'b1;
      if (pop) rp <= rp + 1'b1;
      count <= count + (AW+1)'(push) - (AW+1)'(pop);
    end
  end
  always_ff @(posedge clk) begin
    if (push) mem[wp] <= din;
  end
  assign dout = mem[rp];
  assign empty = (count == '0);
  assign full = (count == (AW+1)'(DEPTH));

`ifndef SYNTHESIS
  always @(posedge clk or negedge rst_n) begin
    if (rst_n) begin
      `NQ_ASSERT(!(push && full && !pop), "fifo overflow: push while full without a pop")
      `NQ_ASSERT(!(pop && empty), "fifo underflow: pop while empty")
    end
  end
`endif
endmodule
