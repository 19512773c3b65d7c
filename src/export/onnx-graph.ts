// The Llama decoder as an ONNX graph (opset 14, standard ops only) in the layout Optimum and
// transformers.js use for decoders with a KV cache: inputs input_ids, attention_mask,
// position_ids, past_key_values.{i}.key|value [batch, kv_heads, past, head_dim]; outputs logits,
// present.{i}.key|value. Weights are fp32 or int8 per output channel (DequantizeLinear, weight
// only). The protobuf encoding is onnx-proto's (protobufjs over the official onnx.proto).
import onnxProto from "onnx-proto";
import type { LlamaConfig } from "../models/config.js";

const { onnx } = onnxProto;
type INode = import("onnx-proto").onnx.INodeProto;
type ITensor = import("onnx-proto").onnx.ITensorProto;
type IValueInfo = import("onnx-proto").onnx.IValueInfoProto;
type IAttr = import("onnx-proto").onnx.IAttributeProto;

const DT = { FLOAT: 1, INT8: 3, INT64: 7, BOOL: 9 } as const;
const OPSET = 14;
const IR_VERSION = 7;

/** Float weights of the model by HF name (row-major, torch shapes). */
export type WeightSource = (hfName: string) => Float32Array;

class Graph {
  readonly nodes: INode[] = [];
  readonly inits: ITensor[] = [];
  private n = 0;

  private attr(name: string, v: number | number[] | string | ITensor): IAttr {
    const A = onnx.AttributeProto.AttributeType;
    if (typeof v === "string") return { name, type: A.STRING, s: Buffer.from(v) };
    if (Array.isArray(v)) return { name, type: A.INTS, ints: v };
    if (typeof v === "number") return Number.isInteger(v) && !Object.is(v, -0) && name !== "value_float" ? { name, type: A.INT, i: v } : { name, type: A.FLOAT, f: v };
    return { name, type: A.TENSOR, t: v };
  }

  /** Add a node; returns its output names (count outputs). */
  op(type: string, inputs: string[], attrs: Record<string, number | number[] | string | ITensor> = {}, outputs = 1, names?: string[]): string[] {
    const outs = names ?? Array.from({ length: outputs }, () => `${type.toLowerCase()}_${this.n++}`);
    this.nodes.push({ opType: type, input: inputs, output: outs, name: `${type}_${this.n++}`, attribute: Object.entries(attrs).map(([k, v]) => this.attr(k, v)) });
    return outs;
  }
  op1(type: string, inputs: string[], attrs: Record<string, number | number[] | string | ITensor> = {}, name?: string): string {
    return this.op(type, inputs, attrs, 1, name ? [name] : undefined)[0];
  }

  floatInit(name: string, dims: number[], data: Float32Array): string {
    this.inits.push({ name, dims, dataType: DT.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }
  int8Init(name: string, dims: number[], data: Int8Array): string {
    this.inits.push({ name, dims, dataType: DT.INT8, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }
  i64(name: string, values: number[], dims: number[] = [values.length]): string {
    const b = new BigInt64Array(values.map((v) => BigInt(v)));
    this.inits.push({ name, dims, dataType: DT.INT64, rawData: new Uint8Array(b.buffer) });
    return name;
  }
  f32(name: string, v: number): string {
    return this.floatInit(name, [], Float32Array.of(v));
  }
}

/** Transpose a torch [out, in] weight to ONNX MatMul's [in, out]. */
function transpose(w: Float32Array, out: number, inn: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inn; i++) t[i * out + o] = w[o * inn + i];
  return t;
}

/** Symmetric int8 per column of a [rows, cols] matrix (axis 1): scale = max|x|/127. */
export function quantizeColumns(w: Float32Array, rows: number, cols: number): { q: Int8Array; scale: Float32Array } {
  const scale = new Float32Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) scale[c] = Math.max(scale[c], Math.abs(w[r * cols + c]));
  for (let c = 0; c < cols; c++) scale[c] = scale[c] / 127 || 1;
  const q = new Int8Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) q[r * cols + c] = Math.max(-127, Math.min(127, Math.round(w[r * cols + c] / scale[c])));
  return { q, scale };
}

function valueInfo(name: string, elem: number, dims: Array<number | string>): IValueInfo {
  return { name, type: { tensorType: { elemType: elem, shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } } };
}

/** Encode the decoder graph of `c` with weights from `weight` as an ONNX ModelProto. */
export function buildDecoderOnnx(c: LlamaConfig, weight: WeightSource, dtype: "fp32" | "int8"): Uint8Array {
  const g = new Graph();
  const { d, heads: NH, kvHeads: NKV, headDim: HS, vocab: V } = c;
  const rep = NH / NKV;
  const half = HS / 2;

  /** A [out, in] linear weight as a MatMul right-hand side [in, out] (dequantized in-graph for int8). */
  const linearW = (hf: string, out: number, inn: number): string => {
    const t = transpose(weight(hf), out, inn);
    if (dtype === "fp32") return g.floatInit(hf, [inn, out], t);
    const { q, scale } = quantizeColumns(t, inn, out);
    const qn = g.int8Init(`${hf}_quantized`, [inn, out], q);
    const sn = g.floatInit(`${hf}_scale`, [out], scale);
    const zn = g.int8Init(`${hf}_zero_point`, [out], new Int8Array(out));
    return g.op1("DequantizeLinear", [qn, sn, zn], { axis: 1 });
  };

  // Constants shared by all layers.
  const shapeQ = g.i64("shape_q", [0, 0, NH, HS]);
  const shapeKV = g.i64("shape_kv", [0, 0, NKV, HS]);
  const shapeO = g.i64("shape_o", [0, 0, NH * HS]);
  const epsN = g.f32("rms_eps", c.normEps);
  const scaleN = g.f32("attn_scale", 1 / Math.sqrt(HS));
  const zeroF = g.f32("zero_f", 0);
  const negF = g.f32("neg_big", -3.4028234663852886e38);
  const i0 = g.i64("i0", [0], []);
  const i1 = g.i64("i1", [1], []);

  // RoPE tables [maxSeq, HS] with both halves (HF's cat(freqs, freqs)), gathered by position_ids.
  const cosT = new Float32Array(c.maxSeq * HS);
  const sinT = new Float32Array(c.maxSeq * HS);
  const f = Math.fround;
  for (let i = 0; i < half; i++) {
    const invFreq = f(1 / f(Math.pow(c.ropeTheta, f(f(2 * i) / HS))));
    for (let t = 0; t < c.maxSeq; t++) {
      const ang = f(t * invFreq);
      cosT[t * HS + i] = cosT[t * HS + i + half] = Math.cos(ang);
      sinT[t * HS + i] = sinT[t * HS + i + half] = Math.sin(ang);
    }
  }
  g.floatInit("rope_cos", [c.maxSeq, HS], cosT);
  g.floatInit("rope_sin", [c.maxSeq, HS], sinT);
  const unsq2 = g.i64("axes_2", [2]);
  const cos = g.op1("Unsqueeze", [g.op1("Gather", ["rope_cos", "position_ids"]), unsq2]); // [B,T,1,HS]
  const sin = g.op1("Unsqueeze", [g.op1("Gather", ["rope_sin", "position_ids"]), unsq2]);
  const rope = (x: string): string => {
    const [a, b] = g.op("Split", [x], { axis: -1 }, 2);
    const rot = g.op1("Concat", [g.op1("Neg", [b]), a], { axis: -1 });
    return g.op1("Add", [g.op1("Mul", [x, cos]), g.op1("Mul", [rot, sin])]);
  };

  // Additive attention bias [B,1,T,Tk]: causal over cache positions, and attention_mask padding.
  const T = g.op1("Gather", [g.op1("Shape", ["input_ids"]), i1]);
  const Tk = g.op1("Gather", [g.op1("Shape", ["attention_mask"]), i1]);
  const past = g.op1("Sub", [Tk, T]);
  const qpos = g.op1("Unsqueeze", [g.op1("Add", [g.op1("Range", [i0, T, i1]), past]), g.i64("axes_1", [1])]); // [T,1]
  const kpos = g.op1("Range", [i0, Tk, i1]); // [Tk]
  const causal = g.op1("LessOrEqual", [kpos, qpos]); // [T,Tk]
  const pad = g.op1("Unsqueeze", [g.op1("Cast", ["attention_mask"], { to: DT.BOOL }), g.i64("axes_12", [1, 2])]); // [B,1,1,Tk]
  const bias = g.op1("Where", [g.op1("And", [causal, pad]), zeroF, negF]);

  const rmsnorm = (x: string, w: string): string => {
    const ms = g.op1("ReduceMean", [g.op1("Mul", [x, x])], { axes: [-1], keepdims: 1 });
    const r = g.op1("Sqrt", [g.op1("Add", [ms, epsN])]);
    return g.op1("Mul", [g.op1("Div", [x, r]), w]);
  };

  const embW = weight("model.embed_tokens.weight");
  let embName: string;
  if (dtype === "fp32") embName = g.floatInit("model.embed_tokens.weight", [V, d], embW);
  else {
    // Per-row int8 for the embedding (axis 0), dequantized once and gathered.
    const scale = new Float32Array(V);
    const q = new Int8Array(embW.length);
    for (let v = 0; v < V; v++) {
      let m = 0;
      for (let i = 0; i < d; i++) m = Math.max(m, Math.abs(embW[v * d + i]));
      scale[v] = m / 127 || 1;
      for (let i = 0; i < d; i++) q[v * d + i] = Math.max(-127, Math.min(127, Math.round(embW[v * d + i] / scale[v])));
    }
    embName = g.op1("DequantizeLinear", [g.int8Init("model.embed_tokens.weight_quantized", [V, d], q), g.floatInit("model.embed_tokens.weight_scale", [V], scale), g.int8Init("model.embed_tokens.weight_zero_point", [V], new Int8Array(V))], { axis: 0 });
  }
  let h = g.op1("Gather", [embName, "input_ids"]); // [B,T,d]
  const inputs: IValueInfo[] = [
    valueInfo("input_ids", DT.INT64, ["batch_size", "sequence_length"]),
    valueInfo("attention_mask", DT.INT64, ["batch_size", "total_sequence_length"]),
    valueInfo("position_ids", DT.INT64, ["batch_size", "sequence_length"]),
  ];
  const outputs: IValueInfo[] = [valueInfo("logits", DT.FLOAT, ["batch_size", "sequence_length", V])];
  const expand = g.i64("expand_rep", [1, 1, rep, 1, 1]);
  const shapeRep = g.i64("shape_rep", [0, NH, -1, HS]);

  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}.`;
    const a = rmsnorm(h, g.floatInit(p + "input_layernorm.weight", [d], weight(p + "input_layernorm.weight")));
    const q = rope(g.op1("Reshape", [g.op1("MatMul", [a, linearW(p + "self_attn.q_proj.weight", NH * HS, d)]), shapeQ]));
    const k = rope(g.op1("Reshape", [g.op1("MatMul", [a, linearW(p + "self_attn.k_proj.weight", NKV * HS, d)]), shapeKV]));
    const v = g.op1("Reshape", [g.op1("MatMul", [a, linearW(p + "self_attn.v_proj.weight", NKV * HS, d)]), shapeKV]);
    const perm = { perm: [0, 2, 1, 3] };
    const pk = `past_key_values.${l}.key`;
    const pv = `past_key_values.${l}.value`;
    inputs.push(valueInfo(pk, DT.FLOAT, ["batch_size", NKV, "past_sequence_length", HS]), valueInfo(pv, DT.FLOAT, ["batch_size", NKV, "past_sequence_length", HS]));
    const kAll = g.op1("Concat", [pk, g.op1("Transpose", [k], perm)], { axis: 2 }, `present.${l}.key`);
    const vAll = g.op1("Concat", [pv, g.op1("Transpose", [v], perm)], { axis: 2 }, `present.${l}.value`);
    outputs.push(valueInfo(kAll, DT.FLOAT, ["batch_size", NKV, "total_sequence_length", HS]), valueInfo(vAll, DT.FLOAT, ["batch_size", NKV, "total_sequence_length", HS]));
    const repeat = (x: string) => (rep === 1 ? x : g.op1("Reshape", [g.op1("Expand", [g.op1("Unsqueeze", [x, unsq2]), expand]), shapeRep]));
    const scores = g.op1("Add", [g.op1("Mul", [g.op1("MatMul", [g.op1("Transpose", [q], perm), g.op1("Transpose", [repeat(kAll)], { perm: [0, 1, 3, 2] })]), scaleN]), bias]);
    const att = g.op1("MatMul", [g.op1("Softmax", [scores], { axis: -1 }), repeat(vAll)]); // [B,NH,T,HS]
    const o = g.op1("Reshape", [g.op1("Transpose", [att], perm), shapeO]);
    h = g.op1("Add", [h, g.op1("MatMul", [o, linearW(p + "self_attn.o_proj.weight", d, NH * HS)])]);
    const m = rmsnorm(h, g.floatInit(p + "post_attention_layernorm.weight", [d], weight(p + "post_attention_layernorm.weight")));
    const gate = g.op1("MatMul", [m, linearW(p + "mlp.gate_proj.weight", c.ffn, d)]);
    const up = g.op1("MatMul", [m, linearW(p + "mlp.up_proj.weight", c.ffn, d)]);
    const act = g.op1("Mul", [g.op1("Mul", [gate, g.op1("Sigmoid", [gate])]), up]);
    h = g.op1("Add", [h, g.op1("MatMul", [act, linearW(p + "mlp.down_proj.weight", d, c.ffn)])]);
  }
  const hn = rmsnorm(h, g.floatInit("model.norm.weight", [d], weight("model.norm.weight")));
  const head = c.tied ? g.op1("Transpose", [embName], { perm: [1, 0] }) : linearW("lm_head.weight", V, d);
  g.op1("MatMul", [hn, head], {}, "logits");

  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: OPSET }],
    producerName: "smollab",
    producerVersion: "0.1.0",
    graph: { name: "llama_decoder", node: g.nodes, initializer: g.inits, input: inputs, output: outputs },
  });
  return onnx.ModelProto.encode(model).finish();
}
