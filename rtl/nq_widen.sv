// nq_widen: widens one fp16 or bf16 element to fp32 fields (docs/numerics.md section 1), exactly.
// Subnormal inputs are normalised (fp16 subnormals are normal fp32 numbers; bf16 subnormals are
// normalised too so that the normalize multiply sees a 24-bit significand with its leading one).
// Outputs: sign, zero (+-0), nonfinite (Inf/NaN), mant = 24-bit significand with bit 23 set
// (for a non-zero finite input) and exp = the unbiased exponent: value = mant * 2^(exp - 23).
// Purely combinational (latency 0, one element per cycle).
module nq_widen (
  input  logic        fmt_bf16,   // 0: fp16, 1: bf16
  input  logic [15:0] x,
  output logic        sign,
  output logic        zero,
  output logic        nonfinite,
  output logic [23:0] mant,
  output logic signed [9:0] exp
);
  logic [4:0] e16;
  logic [9:0] f16;
  logic [7:0] eb;
  logic [6:0] fb;
  logic [3:0] p16;   // leading-one position of an fp16 subnormal fraction (0..9)
  logic [2:0] pb;    // leading-one position of a bf16 subnormal fraction (0..6)

  always_comb begin
    e16 = x[14:10];
    f16 = x[9:0];
    eb = x[14:7];
    fb = x[6:0];
    p16 = 4'd0;
    for (int i = 0; i < 10; i++) if (f16[i]) p16 = 4'(i);
    pb = 3'd0;
    for (int i = 0; i < 7; i++) if (fb[i]) pb = 3'(i);
    sign = x[15];
    if (!fmt_bf16) begin
      zero = (e16 == 5'd0) && (f16 == 10'd0);
      nonfinite = (e16 == 5'h1f);
      if (e16 != 5'd0) begin
        mant = {1'b1, f16, 13'd0};
        exp = 10'(signed'({5'd0, e16})) - 10'sd15;
      end else begin
        mant = {14'd0, f16} << (5'd23 - {1'b0, p16});
        exp = 10'(signed'({6'd0, p16})) - 10'sd24;
      end
    end else begin
      zero = (eb == 8'd0) && (fb == 7'd0);
      nonfinite = (eb == 8'hff);
      if (eb != 8'd0) begin
        mant = {1'b1, fb, 16'd0};
        exp = 10'(signed'({2'd0, eb})) - 10'sd127;
      end else begin
        mant = {17'd0, fb} << (5'd23 - {2'd0, pb});
        exp = 10'(signed'({7'd0, pb})) - 10'sd133;
      end
    end
  end
endmodule
