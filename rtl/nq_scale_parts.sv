// nq_scale_parts: an fp16/bf16 block scale as an integer significand and a power of two,
// scale = m * 2^x (docs/numerics.md section 7.2): fp16 (1024+f, e-25) or (f, -24) for e = 0;
// bf16 (128+f, e-134) or (f, -133) for e = 0. The sign bit is ignored (scales are magnitudes).
// Purely combinational.
module nq_scale_parts (
  input  logic              fmt_bf16,
  input  logic [15:0]       s,
  output logic [10:0]       m,
  output logic signed [9:0] x
);
  always_comb begin
    if (!fmt_bf16) begin
      if (s[14:10] != 5'd0) begin
        m = {1'b1, s[9:0]};
        x = 10'(signed'({5'd0, s[14:10]})) - 10'sd25;
      end else begin
        m = {1'b0, s[9:0]};
        x = -10'sd24;
      end
    end else begin
      if (s[14:7] != 8'd0) begin
        m = {3'd0, 1'b1, s[6:0]};
        x = 10'(signed'({2'd0, s[14:7]})) - 10'sd134;
      end else begin
        m = {4'd0, s[6:0]};
        x = -10'sd133;
      end
    end
  end
  logic unused;
  assign unused = s[15];
endmodule
