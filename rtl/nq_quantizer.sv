// nq_quantizer: the block quantile quantizer (docs/numerics.md sections 4.1, 4.2, 5).
// Input: a stream of fp16/bf16 elements, LANES per beat, cfg_bpb beats per block (block size
// B = cfg_bpb * LANES, B <= BLOCK_MAX). Output: one beat of LANES packed codes per input beat
// (bits per code cfg_bits <= BITS_MAX, MSB-first bit stream per 4.2, left-aligned in out_codes),
// with the block's stored scale (absmax in the element type, 0 or the canonical quiet NaN for
// special blocks) and status (0 ok, 1 zero, 2 flushed, 3 non-finite) on every beat and
// out_blk_last on the block's last beat.
// Pipeline: (1) input: per-beat absmax tree (15-bit magnitudes compared as integers, exact) and
// a running block maximum; beats are parked in the element FIFO. (2) block end: status and
// widening of the absmax. (3) nq_recip: fp32 reciprocal, fully pipelined, 24/DIV_SPS + 1 cycles.
// (4) the inverse waits in the scale FIFO until the block's first beat leaves the element FIFO.
// (5) per lane: normalize multiply, threshold compare, zero code for special blocks; pack.
// Throughput: LANES elements per cycle in steady state with no per-block bubble (the element
// FIFO holds a block plus the reciprocal latency, so block n+1's absmax pass overlaps block n's
// reciprocal and block n-1's encode). Latency from a block's last input beat to its first output
// beat: 3 + LAT_RECIP cycles.
// Simulation-only assertions (`ifndef SYNTHESIS): at most SF_DEPTH blocks in flight (pending),
// the scale FIFO never overflows and never holds more blocks than are in flight.
`include "nq_assert.svh"
module nq_quantizer #(
  parameter int LANES = 16,
  parameter int BLOCK_MAX = 256,
  parameter int BITS_MAX = 4,
  parameter int DIV_SPS = 4,
  localparam int NTHR = (1 << BITS_MAX) - 1,
  localparam int BPBW = $clog2(BLOCK_MAX / LANES) + 1
) (
  input  logic                      clk,
  input  logic                      rst_n,
  // configuration (static while busy)
  input  logic                      cfg_bf16,
  input  logic [2:0]                cfg_bits,
  input  logic [BPBW-1:0]           cfg_bpb,     // beats per block, >= 1
  input  logic [NTHR*32-1:0]        thr_key,
  input  logic [BITS_MAX-1:0]       thr_n,
  // element stream
  input  logic                      in_valid,
  output logic                      in_ready,
  input  logic [LANES*16-1:0]       in_data,
  // code stream
  output logic                      out_valid,
  input  logic                      out_ready,
  output logic [LANES*BITS_MAX-1:0] out_codes,
  output logic [15:0]               out_scale,
  output logic [1:0]                out_status,
  output logic                      out_blk_last,
  // events (one pulse per block as it enters the reciprocal) and state
  output logic                      ev_block,
  output logic [1:0]                ev_status,
  output logic                      busy
);
  localparam int LAT_RECIP = 24 / DIV_SPS + 1;
  localparam int EF_DEPTH = 1 << $clog2(BLOCK_MAX / LANES + LAT_RECIP + 4);
  localparam int SF_DEPTH = 1 << $clog2(LAT_RECIP + 6);
  localparam int EFW = LANES * 16 + 1;
  localparam int SFW = 24 + 10 + 16 + 2;
  localparam int SFAW = $clog2(SF_DEPTH);

  // ---------------------------------------------------------------- (1) input and absmax
  logic ef_full, ef_empty, sf_empty, sf_full;
  logic [EFW-1:0] ef_dout;
  logic [SFW-1:0] sf_dout;
  logic ef_pop, sf_pop;
  logic [$clog2(EF_DEPTH):0] ef_count;
  logic [SFAW:0] sf_count;
  logic [SFAW:0] pending;   // blocks started into the reciprocal and not yet fully output
  logic [BPBW-1:0] bcnt;
  logic accept, in_last;
  logic [14:0] run_max, tree_max;
  logic run_nf, tree_nf;

  assign in_ready = !ef_full && (pending < (SFAW+1)'(SF_DEPTH));
  assign accept = in_valid && in_ready;
  assign in_last = (bcnt == cfg_bpb - 1'b1);

  always_comb begin
    tree_max = 15'd0;
    tree_nf = 1'b0;
    for (int i = 0; i < LANES; i++) begin
      if (in_data[16*i +: 15] > tree_max) tree_max = in_data[16*i +: 15];
      if (cfg_bf16 ? (in_data[16*i+7 +: 8] == 8'hff) : (in_data[16*i+10 +: 5] == 5'h1f)) tree_nf = 1'b1;
    end
  end

  logic be_valid, be_nf;
  logic [14:0] be_max;
  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) begin
      bcnt <= '0;
      run_max <= '0;
      run_nf <= 1'b0;
      be_valid <= 1'b0;
    end else begin
      be_valid <= accept && in_last;
      if (accept) begin
        if (in_last) begin
          bcnt <= '0;
          run_max <= '0;
          run_nf <= 1'b0;
        end else begin
          bcnt <= bcnt + 1'b1;
          run_max <= (tree_max > run_max) ? tree_max : run_max;
          run_nf <= run_nf | tree_nf;
        end
      end
    end
  end
  always_ff @(posedge clk) begin
    if (accept && in_last) begin
      be_max <= (tree_max > run_max) ? tree_max : run_max;
      be_nf <= run_nf | tree_nf;
    end
  end

  nq_fifo #(.W(EFW), .DEPTH(EF_DEPTH)) u_efifo (
    .clk(clk), .rst_n(rst_n), .push(accept), .din({in_last, in_data}),
    .pop(ef_pop), .dout(ef_dout), .empty(ef_empty), .full(ef_full), .count(ef_count));

  // ---------------------------------------------------------------- (2) block end
  logic [1:0] be_status;
  logic [15:0] be_scale;
  logic w_sign, w_zero, w_nf;
  logic [23:0] w_mant;
  logic signed [9:0] w_exp;
  nq_widen u_wmax (.fmt_bf16(cfg_bf16), .x({1'b0, be_max}), .sign(w_sign), .zero(w_zero),
                   .nonfinite(w_nf), .mant(w_mant), .exp(w_exp));
  always_comb begin
    if (be_nf) begin
      be_status = 2'd3;
      be_scale = cfg_bf16 ? 16'h7fc0 : 16'h7e00;
    end else if (be_max == 15'd0) begin
      be_status = 2'd1;
      be_scale = 16'h0000;
    end else if (cfg_bf16 && be_max[14:7] == 8'd0) begin
      be_status = 2'd2;  // absmax below 2^-126: flushed to a zero block (5.3)
      be_scale = 16'h0000;
    end else begin
      be_status = 2'd0;
      be_scale = {1'b0, be_max};
    end
  end
  assign ev_block = be_valid;
  assign ev_status = be_status;

  // ---------------------------------------------------------------- (3) reciprocal
  logic rc_valid;
  logic [23:0] rc_mi;
  logic signed [9:0] rc_ei;
  logic [17:0] rc_tag;
  nq_recip #(.SPS(DIV_SPS), .TAGW(18)) u_recip (
    .clk(clk), .rst_n(rst_n), .in_valid(be_valid),
    .in_ma(be_status == 2'd0 ? w_mant : 24'h800000), .in_ea(be_status == 2'd0 ? w_exp : 10'sd0),
    .in_tag({be_scale, be_status}),
    .out_valid(rc_valid), .out_mi(rc_mi), .out_ei(rc_ei), .out_tag(rc_tag));

  // ---------------------------------------------------------------- (4) scale FIFO
  nq_fifo #(.W(SFW), .DEPTH(SF_DEPTH)) u_sfifo (
    .clk(clk), .rst_n(rst_n), .push(rc_valid), .din({rc_mi, rc_ei, rc_tag}),
    .pop(sf_pop), .dout(sf_dout), .empty(sf_empty), .full(sf_full), .count(sf_count));

  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) pending <= '0;
    else pending <= pending + (SFAW+1)'(accept && in_last) - (SFAW+1)'(sf_pop);
  end

  // ---------------------------------------------------------------- (5) encode and pack
  logic en;
  logic p1_valid, p1_last;
  logic [LANES*16-1:0] p1_data;
  logic [23:0] p1_mi;
  logic signed [9:0] p1_ei;
  logic [15:0] p1_scale;
  logic [1:0] p1_status;

  assign en = !out_valid || out_ready;
  assign ef_pop = en && !ef_empty && !sf_empty;
  assign sf_pop = ef_pop && ef_dout[EFW-1];

  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) begin
      p1_valid <= 1'b0;
      out_valid <= 1'b0;
    end else if (en) begin
      p1_valid <= ef_pop;
      out_valid <= p1_valid;
    end
  end
  always_ff @(posedge clk) begin
    if (en) begin
      p1_data <= ef_dout[EFW-2:0];
      p1_last <= ef_dout[EFW-1];
      {p1_mi, p1_ei, p1_scale, p1_status} <= sf_dout;
    end
  end

  logic [LANES*BITS_MAX-1:0] lane_codes;
  for (genvar i = 0; i < LANES; i++) begin : g_lane
    nq_quant_lane #(.BITS_MAX(BITS_MAX)) u_lane (
      .fmt_bf16(cfg_bf16), .x(p1_data[16*i +: 16]), .inv_m(p1_mi), .inv_e(p1_ei),
      .special(p1_status != 2'd0), .thr_key(thr_key), .thr_n(thr_n),
      .code(lane_codes[BITS_MAX*i +: BITS_MAX]));
  end

  // Packing (4.2): lane 0's code in the most significant bits, cfg_bits per code.
  logic [LANES*4-1:0] pk2, pk3, pk4, pk;
  always_comb begin
    pk2 = '0;
    pk3 = '0;
    pk4 = '0;
    for (int i = 0; i < LANES; i++) begin
      pk2[LANES*4-1-2*i -: 2] = 2'(lane_codes[BITS_MAX*i +: BITS_MAX]);
      pk3[LANES*4-1-3*i -: 3] = 3'(lane_codes[BITS_MAX*i +: BITS_MAX]);
      pk4[LANES*4-1-4*i -: 4] = 4'(lane_codes[BITS_MAX*i +: BITS_MAX]);
    end
    case (cfg_bits)
      3'd2: pk = pk2;
      3'd3: pk = pk3;
      default: pk = pk4;
    endcase
  end

  always_ff @(posedge clk) begin
    if (en) begin
      out_codes <= pk[LANES*4-1 -: LANES*BITS_MAX];
      out_scale <= p1_scale;
      out_status <= p1_status;
      out_blk_last <= p1_last;
    end
  end

  assign busy = !ef_empty || !sf_empty || p1_valid || out_valid || be_valid || (pending != '0);

`ifndef SYNTHESIS
  always @(posedge clk or negedge rst_n) begin
    if (rst_n) begin
      `NQ_ASSERT(pending <= (SFAW+1)'(SF_DEPTH), "in-flight block limit: more than SF_DEPTH blocks pending")
      `NQ_ASSERT(!(rc_valid && sf_full && !sf_pop), "scale FIFO overflow: a reciprocal arrived while the FIFO is full")
      `NQ_ASSERT(sf_count <= pending, "scale FIFO holds more blocks than are in flight")
    end
  end
`endif

  // Unused: the widened absmax is positive, finite and non-zero on the path that uses it; FIFO
  // fill levels are for debug; the low bits of the pack vector are unused when BITS_MAX < 4.
  logic unused;
  assign unused = ^{w_sign, w_zero, w_nf, ef_count, sf_count, sf_full, pk};
endmodule
