// nq_recip_stage: SPS steps of the restoring division 2^48 / ma used by nq_recip, followed by a
// pipeline register. Step k (k = FIRST .. FIRST+SPS-1, counted from 0) produces quotient bit
// 23-k: r = 2r; if r >= ma then r -= ma and the bit is 1. Latency 1 cycle, one operand per cycle;
// never stalls (the quantizer sizes its buffers for the fixed latency).
module nq_recip_stage #(
  parameter int SPS = 4,     // division steps per pipeline stage
  parameter int FIRST = 0,   // index of this stage's first step (0..23)
  parameter int TAGW = 18    // sideband carried along unchanged
) (
  input  logic            clk,
  input  logic            rst_n,
  input  logic            in_valid,
  input  logic [24:0]     in_r,
  input  logic [23:0]     in_ma,
  input  logic [23:0]     in_q,
  input  logic [TAGW-1:0] in_tag,
  output logic            out_valid,
  output logic [24:0]     out_r,
  output logic [23:0]     out_ma,
  output logic [23:0]     out_q,
  output logic [TAGW-1:0] out_tag
);
  logic [24:0] r;
  logic [23:0] q;
  always_comb begin
    r = in_r;
    q = in_q;
    for (int k = 0; k < SPS; k++) begin
      if (FIRST + k < 24) begin
        r = {r[23:0], 1'b0};
        if (r >= {1'b0, in_ma}) begin
          r = r - {1'b0, in_ma};
          q = {q[22:0], 1'b1};
        end else begin
          q = {q[22:0], 1'b0};
        end
      end
    end
  end
  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) out_valid <= 1'b0;
    else out_valid <= in_valid;
  end
  always_ff @(posedge clk) begin
    out_r <= r;
    out_ma <= in_ma;
    out_q <= q;
    out_tag <= in_tag;
  end
endmodule
