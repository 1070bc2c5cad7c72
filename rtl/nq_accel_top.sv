// nq_accel_top: the NQKV accelerator: nq_quantizer and nq_dequant_mac behind valid/ready streams,
// with a word-addressed register interface for configuration, the codebook, the query and status.
// Cycle-level protocol and register map: rtl/doc/protocol.md. All streams use the AXI-Stream rule:
// a beat transfers on a rising edge where valid and ready are both high; a source holds valid and
// data stable until the transfer. Register writes take effect on the next edge; configuration
// (CFG, BLOCK, NBLK, CB_N, THR, MAC) must only change while both units are idle. The register
// map comes from rtl/data/nq_accel_regs.json through the generated nq_accel_regs.svh.
// Latency and throughput: those of the units (nq_quantizer: LANES elements per cycle, 3 +
// 24/DIV_SPS + 1 cycles from a block's last beat to its first code beat; nq_dequant_mac: LANES
// MACs per cycle); register reads are combinational, writes take effect at the next edge.
// Simulation-only assertions (`ifndef SYNTHESIS, nq_stream_check) check the valid/ready rule on
// every stream: on qi, ms and mc the driver's, on qo and mo the accelerator's own.
module nq_accel_top #(
  parameter int LANES = 16,      // elements / MACs per cycle (power of two, 4..64)
  parameter int BLOCK_MAX = 256, // largest block (power of two, 32..256); BLOCK is a register
  parameter int BITS_MAX = 4,    // largest code width (2..4); the code width is a register
  parameter int DMAX = 256,      // largest head_dim for the MAC (query/accumulator storage)
  parameter int ACC_W = 48,      // value-form accumulator width (>= 34; the contract needs 33)
  parameter int DIV_SPS = 4,     // reciprocal division steps per pipeline stage (divides 24)
  localparam int NTHR = (1 << BITS_MAX) - 1,
  localparam int NENT = 1 << BITS_MAX,
  localparam int NBMAX = DMAX / 32
) (
  input  logic                      clk,
  input  logic                      rst_n,
  // register interface
  input  logic                      reg_we,
  input  logic [11:0]               reg_addr,
  input  logic [31:0]               reg_wdata,
  output logic [31:0]               reg_rdata,
  // quantizer: elements in, codes out
  input  logic                      qi_valid,
  output logic                      qi_ready,
  input  logic [LANES*16-1:0]       qi_data,
  output logic                      qo_valid,
  input  logic                      qo_ready,
  output logic [LANES*BITS_MAX-1:0] qo_codes,
  output logic [15:0]               qo_scale,
  output logic [1:0]                qo_status,
  output logic                      qo_last,
  // dequant-MAC: side values (scales or weights) and codes in, results out
  input  logic                      ms_valid,
  output logic                      ms_ready,
  input  logic [15:0]               ms_data,
  input  logic                      mc_valid,
  output logic                      mc_ready,
  input  logic [LANES*BITS_MAX-1:0] mc_data,
  input  logic                      mc_last,
  output logic                      mo_valid,
  input  logic                      mo_ready,
  output logic [63:0]               mo_data,
  output logic signed [9:0]         mo_x,
  output logic                      mo_last
);
  localparam int LW = $clog2(LANES);
  localparam int BPBW = $clog2(BLOCK_MAX / LANES) + 1;
  localparam int NBW = $clog2(NBMAX) + 1;
  localparam int DW = $clog2(DMAX);
`define NQ_REGS_MAP
`include "nq_accel_regs.svh"

  // ------------------------------------------------------------ registers
  logic cfg_bf16, cfg_mode;
  logic [NQ_CFG_BITS_W-1:0] cfg_bits;
  logic [NQ_BLOCK_W-1:0] cfg_block;
  logic [NQ_NBLK_W-1:0] cfg_nblk;
  logic [NQ_CB_N_W-1:0] cfg_cbn;
  logic [31:0] thr [0:NTHR-1];
  logic [NQ_MAC_W-1:0] mac [0:NENT-1];
  logic [31:0] cnt_blocks, cnt_zero, cnt_flushed, cnt_nonfinite;
  logic err_nonfinite;
  logic start, clear;
  logic ev_block;
  logic [1:0] ev_status;
  logic q_busy, m_busy;

  assign start = reg_we && reg_addr == NQ_ADDR_CTRL && reg_wdata[NQ_CTRL_START_BIT];
  assign clear = reg_we && reg_addr == NQ_ADDR_CTRL && reg_wdata[NQ_CTRL_CLEAR_BIT];

  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) begin
      cfg_bf16 <= NQ_RESET_CFG[NQ_CFG_BF16_BIT];
      cfg_mode <= NQ_RESET_CFG[NQ_CFG_MODE_BIT];
      cfg_bits <= NQ_RESET_CFG[NQ_CFG_BITS_LSB +: NQ_CFG_BITS_W];
      cfg_block <= NQ_RESET_BLOCK[NQ_BLOCK_W-1:0];
      cfg_nblk <= NQ_RESET_NBLK[NQ_NBLK_W-1:0];
      cfg_cbn <= NQ_RESET_CB_N[NQ_CB_N_W-1:0];
      cnt_blocks <= '0;
      cnt_zero <= '0;
      cnt_flushed <= '0;
      cnt_nonfinite <= '0;
      err_nonfinite <= 1'b0;
    end else begin
      if (reg_we) begin
        case (reg_addr)
          NQ_ADDR_CFG: begin
            cfg_bf16 <= reg_wdata[NQ_CFG_BF16_BIT];
            cfg_mode <= reg_wdata[NQ_CFG_MODE_BIT];
            cfg_bits <= reg_wdata[NQ_CFG_BITS_LSB +: NQ_CFG_BITS_W];
          end
          NQ_ADDR_BLOCK: cfg_block <= reg_wdata[NQ_BLOCK_W-1:0];
          NQ_ADDR_NBLK: cfg_nblk <= reg_wdata[NQ_NBLK_W-1:0];
          NQ_ADDR_CB_N: cfg_cbn <= reg_wdata[NQ_CB_N_W-1:0];
          default: ;
        endcase
      end
      if (clear) begin
        cnt_blocks <= '0;
        cnt_zero <= '0;
        cnt_flushed <= '0;
        cnt_nonfinite <= '0;
        err_nonfinite <= 1'b0;
      end else if (ev_block) begin
        cnt_blocks <= cnt_blocks + 1'b1;
        if (ev_status == 2'd1) cnt_zero <= cnt_zero + 1'b1;
        if (ev_status == 2'd2) cnt_flushed <= cnt_flushed + 1'b1;
        if (ev_status == 2'd3) begin
          cnt_nonfinite <= cnt_nonfinite + 1'b1;
          err_nonfinite <= 1'b1;
        end
      end
    end
  end
  // Codebook registers (no reset: the host loads them before use).
  logic thr_sel, mac_sel, q_sel;  // reg_addr in the THR, MAC, Q window
  assign thr_sel = reg_addr[11:NQ_THR_AW] == NQ_ADDR_THR[11:NQ_THR_AW] && 32'(reg_addr[NQ_THR_AW-1:0]) < NTHR;
  assign mac_sel = reg_addr[11:NQ_MAC_AW] == NQ_ADDR_MAC[11:NQ_MAC_AW] && 32'(reg_addr[NQ_MAC_AW-1:0]) < NENT;
  assign q_sel = reg_addr[11:NQ_Q_AW] == NQ_ADDR_Q[11:NQ_Q_AW];
  always_ff @(posedge clk) begin
    if (reg_we && thr_sel) thr[reg_addr[BITS_MAX-1:0]] <= reg_wdata;
    if (reg_we && mac_sel) mac[reg_addr[BITS_MAX-1:0]] <= reg_wdata[NQ_MAC_W-1:0];
  end

  // Configuration check (STATUS.err_cfg): the units' behaviour is undefined while it is set.
  logic err_cfg;
  always_comb begin
    err_cfg = 1'b0;
    if (cfg_bits < 3'd2 || 32'(cfg_bits) > BITS_MAX) err_cfg = 1'b1;
    if (cfg_block == 9'd0 || 32'(cfg_block) > BLOCK_MAX || cfg_block[LW-1:0] != '0) err_cfg = 1'b1;
    if (cfg_block[2:0] != 3'd0) err_cfg = 1'b1;
    if (cfg_nblk == 4'd0 || 32'(cfg_nblk) > NBMAX || 32'(cfg_nblk) * 32'(cfg_block) > DMAX) err_cfg = 1'b1;
    if (cfg_cbn < 5'd2 || cfg_cbn > (5'd1 << cfg_bits)) err_cfg = 1'b1;
  end

  // Ordered keys of the thresholds (sign-magnitude -> two's complement, -0 -> 0).
  logic [NTHR*32-1:0] thr_key;
  logic [NENT*8-1:0] mac_flat;
  always_comb begin
    for (int k = 0; k < NTHR; k++)
      thr_key[32*k +: 32] = thr[k][31] ? -{1'b0, thr[k][30:0]} : {1'b0, thr[k][30:0]};
    for (int k = 0; k < NENT; k++) mac_flat[8*k +: 8] = mac[k];
  end

  logic [BPBW-1:0] bpb;
  assign bpb = BPBW'(cfg_block >> LW);

  // ------------------------------------------------------------ units
  logic [BITS_MAX-1:0] thr_n;
  assign thr_n = BITS_MAX'(cfg_cbn - 5'd1);

  nq_quantizer #(.LANES(LANES), .BLOCK_MAX(BLOCK_MAX), .BITS_MAX(BITS_MAX), .DIV_SPS(DIV_SPS)) u_quant (
    .clk(clk), .rst_n(rst_n), .cfg_bf16(cfg_bf16), .cfg_bits(cfg_bits), .cfg_bpb(bpb),
    .thr_key(thr_key), .thr_n(thr_n),
    .in_valid(qi_valid), .in_ready(qi_ready), .in_data(qi_data),
    .out_valid(qo_valid), .out_ready(qo_ready), .out_codes(qo_codes), .out_scale(qo_scale),
    .out_status(qo_status), .out_blk_last(qo_last),
    .ev_block(ev_block), .ev_status(ev_status), .busy(q_busy));

  nq_dequant_mac #(.LANES(LANES), .BLOCK_MAX(BLOCK_MAX), .DMAX(DMAX), .NBMAX(NBMAX), .BITS_MAX(BITS_MAX),
                   .ACC_W(ACC_W)) u_mac (
    .clk(clk), .rst_n(rst_n), .start(start), .cfg_bf16(cfg_bf16), .cfg_mode(cfg_mode),
    .cfg_bits(cfg_bits), .cfg_bpb(bpb), .cfg_nb(NBW'(cfg_nblk)), .cfg_mac(mac_flat),
    .q_we(reg_we && q_sel), .q_addr(DW'(reg_addr[NQ_Q_AW-1:0])), .q_wdata(reg_wdata[NQ_Q_W-1:0]),
    .sd_valid(ms_valid), .sd_ready(ms_ready), .sd_data(ms_data),
    .cd_valid(mc_valid), .cd_ready(mc_ready), .cd_data(mc_data), .cd_last(mc_last),
    .od_valid(mo_valid), .od_ready(mo_ready), .od_data(mo_data), .od_x(mo_x), .od_last(mo_last),
    .busy(m_busy));

  // ------------------------------------------------------------ register read
  always_comb begin
    reg_rdata = 32'd0;
    case (reg_addr)
      NQ_ADDR_ID: reg_rdata = NQ_ID_VALUE;  // "NQKV"
      NQ_ADDR_PARAMS: begin
        reg_rdata[NQ_PARAMS_ACC_W_LSB +: NQ_PARAMS_ACC_W_W] = NQ_PARAMS_ACC_W_W'(ACC_W);
        reg_rdata[NQ_PARAMS_BITS_MAX_LSB +: NQ_PARAMS_BITS_MAX_W] = NQ_PARAMS_BITS_MAX_W'(BITS_MAX);
        reg_rdata[NQ_PARAMS_DIV_SPS_LSB +: NQ_PARAMS_DIV_SPS_W] = NQ_PARAMS_DIV_SPS_W'(DIV_SPS);
        reg_rdata[NQ_PARAMS_LANES_LSB +: NQ_PARAMS_LANES_W] = NQ_PARAMS_LANES_W'(LANES);
        reg_rdata[NQ_PARAMS_LOG2_BLOCK_MAX_LSB +: NQ_PARAMS_LOG2_BLOCK_MAX_W] = NQ_PARAMS_LOG2_BLOCK_MAX_W'($clog2(BLOCK_MAX));
      end
      NQ_ADDR_CFG: begin
        reg_rdata[NQ_CFG_BF16_BIT] = cfg_bf16;
        reg_rdata[NQ_CFG_MODE_BIT] = cfg_mode;
        reg_rdata[NQ_CFG_BITS_LSB +: NQ_CFG_BITS_W] = cfg_bits;
      end
      NQ_ADDR_BLOCK: reg_rdata = 32'(cfg_block);
      NQ_ADDR_NBLK: reg_rdata = 32'(cfg_nblk);
      NQ_ADDR_CB_N: reg_rdata = 32'(cfg_cbn);
      NQ_ADDR_DMAX: reg_rdata = 32'(DMAX);
      NQ_ADDR_STATUS: begin
        reg_rdata[NQ_STATUS_Q_BUSY_BIT] = q_busy;
        reg_rdata[NQ_STATUS_M_BUSY_BIT] = m_busy;
        reg_rdata[NQ_STATUS_ERR_NONFINITE_BIT] = err_nonfinite;
        reg_rdata[NQ_STATUS_ERR_CFG_BIT] = err_cfg;
      end
      NQ_ADDR_CNT_BLOCKS: reg_rdata = cnt_blocks;
      NQ_ADDR_CNT_ZERO: reg_rdata = cnt_zero;
      NQ_ADDR_CNT_FLUSHED: reg_rdata = cnt_flushed;
      NQ_ADDR_CNT_NONFINITE: reg_rdata = cnt_nonfinite;
      default: begin
        if (thr_sel) reg_rdata = thr[reg_addr[BITS_MAX-1:0]];
        if (mac_sel) reg_rdata = 32'(signed'(mac[reg_addr[BITS_MAX-1:0]]));
      end
    endcase
  end

`ifndef SYNTHESIS
  // ------------------------------------------------------------ stream rules (simulation only)
  nq_stream_check #(.W(LANES*16)) u_chk_qi (.clk(clk), .rst_n(rst_n), .valid(qi_valid), .ready(qi_ready),
                                            .data(qi_data));
  nq_stream_check #(.W(LANES*BITS_MAX+16+2+1)) u_chk_qo (.clk(clk), .rst_n(rst_n), .valid(qo_valid),
                                                         .ready(qo_ready), .data({qo_codes, qo_scale, qo_status, qo_last}));
  nq_stream_check #(.W(16)) u_chk_ms (.clk(clk), .rst_n(rst_n), .valid(ms_valid), .ready(ms_ready), .data(ms_data));
  nq_stream_check #(.W(LANES*BITS_MAX+1)) u_chk_mc (.clk(clk), .rst_n(rst_n), .valid(mc_valid), .ready(mc_ready),
                                                    .data({mc_data, mc_last}));
  nq_stream_check #(.W(64+10+1)) u_chk_mo (.clk(clk), .rst_n(rst_n), .valid(mo_valid), .ready(mo_ready),
                                           .data({mo_data, mo_x, mo_last}));
`endif
endmodule
