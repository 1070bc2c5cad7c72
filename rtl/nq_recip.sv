// nq_recip: the block reciprocal inv = fp32(1 / a), correctly rounded (RNE, subnormal results
// honoured), docs/numerics.md section 4.1 step 4. The input a = ma * 2^(ea - 23) is a normal fp32
// value (ma has bit 23 set; ea in [-126, 127]); the output is inv = mi * 2^(ei - 23) in unpacked
// form: mi has bit 23 set for a normal result; for a subnormal result (a > 2^126, bf16 only)
// ei = -126 and mi < 2^23 (mi >= 2^21).
// Method: a power-of-two ma is exact; otherwise Q = floor(2^48 / ma) is in [2^24, 2^25) (25 bits:
// 24 significand bits and a round bit), the remainder gives the sticky bit, and one RNE step
// rounds (after a 1- or 2-bit denormalising shift for subnormal results).
// Fully pipelined: one operand per cycle, latency LAT = 24/SPS + 1 cycles; never stalls.
module nq_recip #(
  parameter int SPS = 4,    // division steps per pipeline stage (divides 24)
  parameter int TAGW = 18
) (
  input  logic               clk,
  input  logic               rst_n,
  input  logic               in_valid,
  input  logic [23:0]        in_ma,
  input  logic signed [9:0]  in_ea,
  input  logic [TAGW-1:0]    in_tag,
  output logic               out_valid,
  output logic [23:0]        out_mi,
  output logic signed [9:0]  out_ei,
  output logic [TAGW-1:0]    out_tag
);
  localparam int NST = (24 + SPS - 1) / SPS;
  localparam int TW = TAGW + 10;  // tag plus the exponent, carried through the stages

  logic [NST:0]        v_bus;
  logic [25*(NST+1)-1:0] r_bus;
  logic [24*(NST+1)-1:0] ma_bus;
  logic [24*(NST+1)-1:0] q_bus;
  logic [TW*(NST+1)-1:0] t_bus;

  assign v_bus[0] = in_valid;
  assign r_bus[24:0] = 25'h1000000 - {1'b0, in_ma};  // first quotient bit (2^24 >= ma) is always 1
  assign ma_bus[23:0] = in_ma;
  assign q_bus[23:0] = 24'd0;
  assign t_bus[TW-1:0] = {in_tag, in_ea};

  for (genvar s = 0; s < NST; s++) begin : g_stage
    nq_recip_stage #(.SPS(SPS), .FIRST(s * SPS), .TAGW(TW)) u_stage (
      .clk(clk), .rst_n(rst_n),
      .in_valid(v_bus[s]), .in_r(r_bus[25*s +: 25]), .in_ma(ma_bus[24*s +: 24]),
      .in_q(q_bus[24*s +: 24]), .in_tag(t_bus[TW*s +: TW]),
      .out_valid(v_bus[s+1]), .out_r(r_bus[25*(s+1) +: 25]), .out_ma(ma_bus[24*(s+1) +: 24]),
      .out_q(q_bus[24*(s+1) +: 24]), .out_tag(t_bus[TW*(s+1) +: TW]));
  end

  // Final rounding stage.
  logic [24:0] qf;      // {1, q23..q0}
  logic        rem_nz;
  logic [23:0] maf;
  logic signed [9:0] eaf;
  logic [23:0] mi;
  logic signed [9:0] ei;
  logic [24:0] mant_r;
  logic        rnd, sticky;
  always_comb begin
    qf = {1'b1, q_bus[24*NST +: 24]};
    rem_nz = r_bus[25*NST +: 25] != 25'd0;
    maf = ma_bus[24*NST +: 24];
    eaf = t_bus[TW*NST +: 10];
    mant_r = 25'd0;
    rnd = 1'b0;
    sticky = 1'b0;
    if (maf == 24'h800000) begin
      // a = 2^ea exactly: inv = 2^-ea (subnormal 2^-127 when ea = 127).
      if (eaf == 10'sd127) begin
        mi = 24'h400000;
        ei = -10'sd126;
      end else begin
        mi = 24'h800000;
        ei = -eaf;
      end
    end else if (eaf <= 10'sd125) begin
      // Normal result 1.xxx * 2^(-1-ea).
      mant_r = {1'b0, qf[24:1]};
      rnd = qf[0];
      sticky = rem_nz;
      mant_r = mant_r + {24'd0, rnd & (sticky | mant_r[0])};
      if (mant_r[24]) begin
        mi = 24'h800000;
        ei = -eaf;
      end else begin
        mi = mant_r[23:0];
        ei = -10'sd1 - eaf;
      end
    end else begin
      // Subnormal result (ea = 126 or 127): denormalise by s = ea - 125 bits, then round.
      if (eaf == 10'sd126) begin
        mant_r = {2'b0, qf[24:2]};
        rnd = qf[1];
        sticky = qf[0] | rem_nz;
      end else begin
        mant_r = {3'b0, qf[24:3]};
        rnd = qf[2];
        sticky = (qf[1:0] != 2'd0) | rem_nz;
      end
      mant_r = mant_r + {24'd0, rnd & (sticky | mant_r[0])};
      mi = mant_r[23:0];
      ei = -10'sd126;
    end
  end
  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) out_valid <= 1'b0;
    else out_valid <= v_bus[NST];
  end
  always_ff @(posedge clk) begin
    out_mi <= mi;
    out_ei <= ei;
    out_tag <= t_bus[TW*NST + 10 +: TAGW];
  end
endmodule
