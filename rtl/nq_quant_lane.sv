// nq_quant_lane: one lane of the quantizer's normalize-and-encode step (docs/numerics.md 4.1
// step 5): xn = fp32(x * inv) with RNE, then code = the number of thresholds m_k with xn > m_k.
// The product is exact where it matters: for |xn| >= 2^-126 the fp32 result is formed with a
// 24x24 multiply, guard/round/sticky and RNE; below 2^-126 only "is the rounded result +-0 or a
// non-zero subnormal" is kept (every non-zero threshold has magnitude > 2^-126, so the exact
// subnormal value never decides a comparison; a zero threshold, as in lloyd4, needs only the
// zero/non-zero and sign information). xn is compared as an ordered integer key (sign-magnitude
// of the fp32 bits, +-0 -> 0) against the thresholds' keys. `special` forces xn = 0, which
// yields the zero code z for zero/flushed/non-finite blocks (5.1, 5.3, 5.4).
// Purely combinational (latency 0, one element per cycle per lane).
module nq_quant_lane #(
  parameter int BITS_MAX = 4,
  localparam int NTHR = (1 << BITS_MAX) - 1
) (
  input  logic                   fmt_bf16,
  input  logic [15:0]            x,
  input  logic [23:0]            inv_m,
  input  logic signed [9:0]      inv_e,
  input  logic                   special,
  input  logic [NTHR*32-1:0]     thr_key,   // ordered keys of the thresholds, k = 0 in the low bits
  input  logic [BITS_MAX-1:0]    thr_n,     // number of thresholds in use (n - 1)
  output logic [BITS_MAX-1:0]    code
);
  logic        sx, zx, nfx;
  logic [23:0] mx;
  logic signed [9:0] ex;
  nq_widen u_widen (.fmt_bf16(fmt_bf16), .x(x), .sign(sx), .zero(zx), .nonfinite(nfx), .mant(mx), .exp(ex));

  logic [47:0] prod, pn;
  logic signed [10:0] e;
  logic [24:0] mr;
  logic [30:0] mag;
  logic signed [31:0] key;
  always_comb begin
    prod = {24'd0, mx} * {24'd0, inv_m};
    e = 11'(ex) + 11'(inv_e);
    // prod >= 2^44 (mx >= 2^23, inv_m >= 2^21): normalise the leading one to bit 47.
    if (prod[47]) begin
      pn = prod;
      e = e + 11'sd1;
    end else if (prod[46]) begin
      pn = {prod[46:0], 1'b0};
    end else if (prod[45]) begin
      pn = {prod[45:0], 2'b0};
      e = e - 11'sd1;
    end else begin
      pn = {prod[44:0], 3'b0};
      e = e - 11'sd2;
    end
    mr = 25'd0;
    if (e >= -11'sd126) begin
      mr = {1'b0, pn[47:24]} + {24'd0, pn[23] & ((pn[22:0] != 23'd0) | pn[24])};
      if (mr[24]) mag = {8'(e + 11'sd128), 23'd0};
      else mag = {8'(e + 11'sd127), mr[22:0]};
    end else if (e > -11'sd150 || (e == -11'sd150 && pn[46:0] != 47'd0)) begin
      mag = 31'd1;  // a non-zero subnormal (or 2^-126 after rounding): only "non-zero" matters
    end else begin
      mag = 31'd0;  // rounds to zero
    end
    if (special || zx || mag == 31'd0) key = 32'sd0;
    else if (sx) key = -signed'({1'b0, mag});
    else key = signed'({1'b0, mag});
  end

  always_comb begin
    code = '0;
    for (int k = 0; k < NTHR; k++)
      if (k < 32'(thr_n) && key > signed'(thr_key[32*k +: 32])) code = code + 1'b1;
  end

  // The non-finite flag of one element is handled at block level (nq_quantizer); mr[23] is the
  // implicit bit of the rounded significand.
  logic unused;
  assign unused = nfx ^ mr[23];
endmodule
