// nq_dequant_mac: the dequant-MAC of docs/numerics.md section 7, in both forms, LANES codes per
// cycle (one codebook look-up and one multiply per lane; one multiplier per lane serves both forms).
//  - score form (cfg_mode 0), 7.2: side stream = the token's nb K scales (fp16/bf16 bits, one per
//    beat), code stream = the token's D/LANES beats of packed K codes. Per block the lanes'
//    products Q_i * C[code_i] go through an adder tree into P_b (int32); at the block end
//    m_b * P_b is shifted by G - (x_t - x_b) (G = 19, NQ_SCORE_GUARD_BITS of nq_accel_regs.svh;
//    left shift or floor shift) and added to the int64 S_t. x_t is computed from the scales as
//    they arrive, before the codes (the side buffer is double-banked, so token t+1's scales load
//    while token t's codes stream). One output word
//    per token: od_data = S_t, od_x = x_t, od_last on the pass's last token (cd_last).
//  - value form (cfg_mode 1), 7.3: side stream = the token's nb block weights W_{t,b} (uint16,
//    computed by the host from E_t and the scales, see rtl/doc/protocol.md), code stream = the
//    token's V codes. Lane i adds W * C[code] into accumulator O_i (ACC_W bits, two's complement;
//    the contract bounds |O_i| < 2^32 per partition). After the beat flagged cd_last the D
//    accumulators are drained as D output words (od_last on the last); the next token starts a
//    new pass (accumulators restart from 0).
// The query (int16, 7.1) is loaded through q_we/q_addr/q_wdata. Codebook entries C (int8) come
// from cfg_mac, so any table runs without re-synthesis.
// Throughput: one code beat (LANES MACs) per cycle while both streams have data and od_ready is
// high. Latency: score 3 cycles from a token's last code beat to its output word; value: drain
// starts 2 cycles after the last beat and takes D cycles. A stalled output stalls the pipeline.
// Simulation-only assertions (`ifndef SYNTHESIS): no side value is written into a full bank and
// no code beat is accepted before its bank is full.
`include "nq_assert.svh"
module nq_dequant_mac #(
  parameter int LANES = 16,
  parameter int BLOCK_MAX = 256,
  parameter int DMAX = 256,
  parameter int NBMAX = 8,
  parameter int BITS_MAX = 4,
  parameter int ACC_W = 48,
  localparam int NENT = 1 << BITS_MAX,
  localparam int BPBW = $clog2(BLOCK_MAX / LANES) + 1,
  localparam int NBW = $clog2(NBMAX) + 1,
  localparam int DW = $clog2(DMAX)
) (
  input  logic                      clk,
  input  logic                      rst_n,
  input  logic                      start,      // clears the stream state (between runs)
  input  logic                      cfg_bf16,
  input  logic                      cfg_mode,   // 0 score, 1 value
  input  logic [2:0]                cfg_bits,
  input  logic [BPBW-1:0]           cfg_bpb,    // beats per block
  input  logic [NBW-1:0]            cfg_nb,     // blocks per token (D = nb * bpb * LANES)
  input  logic [NENT*8-1:0]         cfg_mac,    // int8 C[k], k = 0 in the low byte
  input  logic                      q_we,
  input  logic [DW-1:0]             q_addr,
  input  logic [15:0]               q_wdata,
  input  logic                      sd_valid,
  output logic                      sd_ready,
  input  logic [15:0]               sd_data,
  input  logic                      cd_valid,
  output logic                      cd_ready,
  input  logic [LANES*BITS_MAX-1:0] cd_data,
  input  logic                      cd_last,
  output logic                      od_valid,
  input  logic                      od_ready,
  output logic [63:0]               od_data,
  output logic signed [9:0]         od_x,
  output logic                      od_last,
  output logic                      busy
);
  localparam int ROWS = DMAX / LANES;
  localparam int RW = $clog2(ROWS);
  localparam int LW = $clog2(LANES);
`define NQ_REGS_CONTRACT
`include "nq_accel_regs.svh"
  localparam logic signed [10:0] G = 11'(NQ_SCORE_GUARD_BITS);
  localparam logic signed [10:0] SHIFT_LIMIT = 11'(NQ_SCORE_SHIFT_LIMIT);

  logic en;
  assign en = !od_valid || od_ready;

  // ------------------------------------------------------------ side buffer (two banks)
  logic [15:0] sb_mem [0:2*NBMAX-1];
  logic [1:0] sb_full;
  logic sb_wbank, sb_rbank;
  logic [NBW-1:0] sb_widx;
  logic signed [9:0] sb_xt [0:1];
  logic [1:0] sb_any;
  logic [10:0] ld_m;
  logic signed [9:0] ld_x;
  logic sd_acc, cd_acc, tok_last_beat;
  nq_scale_parts u_ld (.fmt_bf16(cfg_bf16), .s(sd_data), .m(ld_m), .x(ld_x));

  assign sd_ready = !sb_full[sb_wbank] && !start;
  assign sd_acc = sd_valid && sd_ready;

  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) begin
      sb_full <= 2'b00;
      sb_wbank <= 1'b0;
      sb_rbank <= 1'b0;
      sb_widx <= '0;
      sb_any <= 2'b00;
    end else if (start) begin
      sb_full <= 2'b00;
      sb_wbank <= 1'b0;
      sb_rbank <= 1'b0;
      sb_widx <= '0;
      sb_any <= 2'b00;
    end else begin
      if (sd_acc) begin
        if (sb_widx == cfg_nb - 1'b1) begin
          sb_widx <= '0;
          sb_full[sb_wbank] <= 1'b1;
          sb_wbank <= ~sb_wbank;
        end else begin
          sb_widx <= sb_widx + 1'b1;
        end
        if (sb_widx == '0) sb_any[sb_wbank] <= (ld_m != 11'd0);
        else if (ld_m != 11'd0) sb_any[sb_wbank] <= 1'b1;
      end
      if (cd_acc && tok_last_beat) begin
        sb_full[sb_rbank] <= 1'b0;
        sb_rbank <= ~sb_rbank;
      end
    end
  end
  always_ff @(posedge clk) begin
    if (sd_acc) begin
      sb_mem[{sb_wbank, sb_widx[NBW-2:0]}] <= sd_data;
      // x_t = max x_b over blocks with m_b != 0 (0 if none)
      if (sb_widx == '0) sb_xt[sb_wbank] <= (ld_m != 11'd0) ? ld_x : 10'sd0;
      else if (ld_m != 11'd0 && (!sb_any[sb_wbank] || ld_x > sb_xt[sb_wbank])) sb_xt[sb_wbank] <= ld_x;
    end
  end

  // ------------------------------------------------------------ code stream, stage 0
  logic [BPBW-1:0] bib;     // beat in block
  logic [NBW-1:0] blk;      // block in token
  logic [RW-1:0] row;       // beat in token
  logic first_tok;          // the next token is the first of a pass
  logic hold;               // value form: the pass is complete, draining
  logic blk_last_beat;
  logic drain_go;
  logic [DW+1:0] dfull;
  logic [DW-1:0] dlast;     // D - 1, the last accumulator index
  assign dfull = ((DW+2)'(cfg_nb) * (DW+2)'(cfg_bpb)) << LW;
  assign dlast = DW'(dfull - 1'b1);
  logic [DW-1:0] drain_idx;
  logic draining;

  assign blk_last_beat = (bib == cfg_bpb - 1'b1);
  assign tok_last_beat = blk_last_beat && (blk == cfg_nb - 1'b1);
  assign cd_ready = en && sb_full[sb_rbank] && !hold && !start;
  assign cd_acc = cd_valid && cd_ready;

  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) begin
      bib <= '0;
      blk <= '0;
      row <= '0;
      first_tok <= 1'b1;
      hold <= 1'b0;
    end else if (start) begin
      bib <= '0;
      blk <= '0;
      row <= '0;
      first_tok <= 1'b1;
      hold <= 1'b0;
    end else begin
      if (cd_acc) begin
        if (blk_last_beat) begin
          bib <= '0;
          if (tok_last_beat) begin
            blk <= '0;
            row <= '0;
            first_tok <= cd_last;
            if (cd_last && cfg_mode) hold <= 1'b1;
          end else begin
            blk <= blk + 1'b1;
            row <= row + 1'b1;
          end
        end else begin
          bib <= bib + 1'b1;
          row <= row + 1'b1;
        end
      end
      if (draining && en && drain_idx == dlast) hold <= 1'b0;
    end
  end

  // side values of the current block
  logic [15:0] sv_raw;
  logic [10:0] sv_m;
  logic signed [9:0] sv_x;
  assign sv_raw = sb_mem[{sb_rbank, blk[NBW-2:0]}];
  nq_scale_parts u_use (.fmt_bf16(cfg_bf16), .s(sv_raw), .m(sv_m), .x(sv_x));

  // lanes: code extraction, codebook look-up, one multiply
  logic [LANES*4-1:0] cd4;
  assign cd4 = (LANES*4)'(cd_data) << (LANES * (4 - BITS_MAX));
  logic [LANES*25-1:0] prod;
  logic [15:0] qv [0:LANES-1];
  for (genvar l = 0; l < LANES; l++) begin : g_lane
    logic [15:0] qm [0:ROWS-1];
    always_ff @(posedge clk) begin
      if (q_we && q_addr[LW-1:0] == LW'(l)) qm[q_addr[DW-1:LW]] <= q_wdata;
    end
    assign qv[l] = qm[row];
    logic [BITS_MAX-1:0] c;
    logic signed [7:0] cv;
    logic signed [16:0] a;
    always_comb begin
      case (cfg_bits)
        3'd2: c = BITS_MAX'(cd4[LANES*4-1-2*l -: 2]);
        3'd3: c = BITS_MAX'(cd4[LANES*4-1-3*l -: 3]);
        default: c = BITS_MAX'(cd4[LANES*4-1-4*l -: 4]);
      endcase
      cv = signed'(cfg_mac[8*c +: 8]);
      a = cfg_mode ? signed'({1'b0, sv_raw}) : signed'({qv[l][15], qv[l]});
    end
    assign prod[25*l +: 25] = 25'(a) * 25'(cv);
  end

  // ------------------------------------------------------------ stage 1
  logic s1_valid, s1_bfirst, s1_blast, s1_tlast, s1_first_blk, s1_first_tok, s1_plast;
  logic [LANES*25-1:0] s1_prod;
  logic [10:0] s1_m;
  logic signed [9:0] s1_xb, s1_xt;
  logic [RW-1:0] s1_row;
  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) s1_valid <= 1'b0;
    else if (start) s1_valid <= 1'b0;
    else if (en) s1_valid <= cd_acc;
  end
  always_ff @(posedge clk) begin
    if (en) begin
      s1_prod <= prod;
      s1_bfirst <= (bib == '0);
      s1_blast <= blk_last_beat;
      s1_tlast <= tok_last_beat;
      s1_first_blk <= (blk == '0);
      s1_first_tok <= first_tok;
      s1_plast <= cd_last && tok_last_beat;
      s1_m <= sv_m;
      s1_xb <= sv_x;
      s1_xt <= sb_xt[sb_rbank];
      s1_row <= row;
    end
  end

  // score: adder tree and block partial
  logic signed [31:0] tree, blk_acc, blk_acc_n;
  always_comb begin
    tree = 32'sd0;
    for (int l = 0; l < LANES; l++) tree = tree + 32'(signed'(s1_prod[25*l +: 25]));
    blk_acc_n = (s1_bfirst ? 32'sd0 : blk_acc) + tree;
  end
  always_ff @(posedge clk) begin
    if (en && s1_valid) blk_acc <= blk_acc_n;
  end

  // value: accumulators, one memory per lane, read-modify-write of one row per beat
  logic [RW-1:0] acc_row;
  logic [ACC_W-1:0] acc_rd [0:LANES-1];
  assign acc_row = draining ? drain_idx[DW-1:LW] : s1_row;
  for (genvar l = 0; l < LANES; l++) begin : g_acc
    logic [ACC_W-1:0] am [0:ROWS-1];
    assign acc_rd[l] = am[acc_row];
    always_ff @(posedge clk) begin
      if (en && s1_valid && cfg_mode)
        am[s1_row] <= (s1_first_tok ? '0 : acc_rd[l]) + ACC_W'(signed'(s1_prod[25*l +: 25]));
    end
  end

  // ------------------------------------------------------------ stage 2 (score)
  logic s2_valid, s2_first_blk, s2_tlast, s2_plast;
  logic signed [31:0] s2_p;
  logic [10:0] s2_m;
  logic signed [9:0] s2_xb, s2_xt;
  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) s2_valid <= 1'b0;
    else if (start) s2_valid <= 1'b0;
    else if (en) s2_valid <= s1_valid && s1_blast && !cfg_mode;
  end
  always_ff @(posedge clk) begin
    if (en) begin
      s2_p <= blk_acc_n;
      s2_m <= s1_m;
      s2_xb <= s1_xb;
      s2_xt <= s1_xt;
      s2_first_blk <= s1_first_blk;
      s2_tlast <= s1_tlast;
      s2_plast <= s1_plast;
    end
  end
  logic signed [43:0] v;
  logic signed [10:0] d;
  logic signed [63:0] vs, s_acc, s_acc_n;
  always_comb begin
    v = signed'({33'd0, s2_m}) * 44'(s2_p);
    d = 11'(s2_xt) - 11'(s2_xb);  // >= 0 for blocks with m != 0; v = 0 otherwise
    if (d <= G) vs = 64'(v) <<< (G - d);
    else if (d >= SHIFT_LIMIT) vs = v < 0 ? -64'sd1 : 64'sd0;
    else vs = 64'(v) >>> (d - G);
    s_acc_n = (s2_first_blk ? 64'sd0 : s_acc) + vs;
  end
  always_ff @(posedge clk) begin
    if (en && s2_valid) s_acc <= s_acc_n;
  end

  // ------------------------------------------------------------ output and drain
  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) begin
      od_valid <= 1'b0;
      draining <= 1'b0;
      drain_go <= 1'b0;
      drain_idx <= '0;
    end else if (start) begin
      od_valid <= 1'b0;
      draining <= 1'b0;
      drain_go <= 1'b0;
      drain_idx <= '0;
    end else if (en) begin
      drain_go <= s1_valid && s1_plast && cfg_mode;
      if (drain_go) draining <= 1'b1;
      if (draining) begin
        od_valid <= 1'b1;
        if (drain_idx == dlast) begin
          draining <= 1'b0;
          drain_idx <= '0;
        end else begin
          drain_idx <= drain_idx + 1'b1;
        end
      end else begin
        od_valid <= s2_valid && s2_tlast;
      end
    end
  end
  always_ff @(posedge clk) begin
    if (en) begin
      if (draining) begin
        od_data <= 64'(signed'(acc_rd[drain_idx[LW-1:0]]));
        od_x <= 10'sd0;
        od_last <= (drain_idx == dlast);
      end else begin
        od_data <= s_acc_n;
        od_x <= s2_xt;
        od_last <= s2_plast;
      end
    end
  end

  assign busy = s1_valid || s2_valid || od_valid || draining || drain_go || hold || (sb_full != 2'b00)
                || (sb_widx != '0) || (row != '0);

`ifndef SYNTHESIS
  always @(posedge clk or negedge rst_n) begin
    if (rst_n) begin
      `NQ_ASSERT(!(sd_acc && sb_full[sb_wbank]), "side buffer: side value written into a full bank")
      `NQ_ASSERT(!(cd_acc && !sb_full[sb_rbank]), "side buffer: code beat accepted before its bank is full")
    end
  end
`endif
endmodule
