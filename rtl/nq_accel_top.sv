// nq_accel_top: the NQKV accelerator: nq_quantizer and nq_dequant_mac behind valid/ready streams,
// with a word-addressed register interface for configuration, the codebook, the query and status.
// Cycle-level protocol and register map: rtl/doc/protocol.md. All streams use the AXI-Stream rule:
// a beat transfers on a rising edge where valid and ready are both high; a source holds valid and
// data stable until the transfer. Register writes take effect on the next edge; configuration
// (CFG, BLOCK, NBLK, CB_N, THR, MAC) must only change while both units are idle.
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

  // ------------------------------------------------------------ registers
  logic cfg_bf16, cfg_mode;
  logic [2:0] cfg_bits;
  logic [8:0] cfg_block;
  logic [3:0] cfg_nblk;
  logic [4:0] cfg_cbn;
  logic [31:0] thr [0:NTHR-1];
  logic [7:0] mac [0:NENT-1];
  logic [31:0] cnt_blocks, cnt_zero, cnt_flushed, cnt_nonfinite;
  logic err_nonfinite;
  logic start, clear;
  logic ev_block;
  logic [1:0] ev_status;
  logic q_busy, m_busy;

  assign start = reg_we && reg_addr == 12'h002 && reg_wdata[0];
  assign clear = reg_we && reg_addr == 12'h002 && reg_wdata[1];

  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) begin
      cfg_bf16 <= 1'b0;
      cfg_mode <= 1'b0;
      cfg_bits <= 3'd4;
      cfg_block <= 9'd64;
      cfg_nblk <= 4'd2;
      cfg_cbn <= 5'd16;
      cnt_blocks <= '0;
      cnt_zero <= '0;
      cnt_flushed <= '0;
      cnt_nonfinite <= '0;
      err_nonfinite <= 1'b0;
    end else begin
      if (reg_we) begin
        case (reg_addr)
          12'h003: {cfg_bits, cfg_mode, cfg_bf16} <= reg_wdata[4:0];
          12'h004: cfg_block <= reg_wdata[8:0];
          12'h005: cfg_nblk <= reg_wdata[3:0];
          12'h006: cfg_cbn <= reg_wdata[4:0];
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
  always_ff @(posedge clk) begin
    if (reg_we && reg_addr[11:4] == 8'h01 && 32'(reg_addr[3:0]) < NTHR) thr[reg_addr[BITS_MAX-1:0]] <= reg_wdata;
    if (reg_we && reg_addr[11:4] == 8'h02 && 32'(reg_addr[3:0]) < NENT) mac[reg_addr[BITS_MAX-1:0]] <= reg_wdata[7:0];
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
    .q_we(reg_we && reg_addr[11:8] == 4'h1), .q_addr(DW'(reg_addr[7:0])), .q_wdata(reg_wdata[15:0]),
    .sd_valid(ms_valid), .sd_ready(ms_ready), .sd_data(ms_data),
    .cd_valid(mc_valid), .cd_ready(mc_ready), .cd_data(mc_data), .cd_last(mc_last),
    .od_valid(mo_valid), .od_ready(mo_ready), .od_data(mo_data), .od_x(mo_x), .od_last(mo_last),
    .busy(m_busy));

  // ------------------------------------------------------------ register read
  always_comb begin
    reg_rdata = 32'd0;
    case (reg_addr)
      12'h000: reg_rdata = 32'h4e514b56;  // "NQKV"
      12'h001: reg_rdata = {8'(ACC_W), 4'(BITS_MAX), 4'(DIV_SPS), 8'(LANES), 8'($clog2(BLOCK_MAX))};
      12'h003: reg_rdata = {27'd0, cfg_bits, cfg_mode, cfg_bf16};
      12'h004: reg_rdata = {23'd0, cfg_block};
      12'h005: reg_rdata = {28'd0, cfg_nblk};
      12'h006: reg_rdata = {27'd0, cfg_cbn};
      12'h007: reg_rdata = 32'(DMAX);
      12'h008: reg_rdata = {28'd0, err_cfg, err_nonfinite, m_busy, q_busy};
      12'h009: reg_rdata = cnt_blocks;
      12'h00a: reg_rdata = cnt_zero;
      12'h00b: reg_rdata = cnt_flushed;
      12'h00c: reg_rdata = cnt_nonfinite;
      default: begin
        if (reg_addr[11:4] == 8'h01 && 32'(reg_addr[3:0]) < NTHR) reg_rdata = thr[reg_addr[BITS_MAX-1:0]];
        if (reg_addr[11:4] == 8'h02 && 32'(reg_addr[3:0]) < NENT) reg_rdata = 32'(signed'(mac[reg_addr[BITS_MAX-1:0]]));
      end
    endcase
  end
endmodule
