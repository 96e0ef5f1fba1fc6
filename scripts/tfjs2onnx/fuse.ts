import onnxProto from 'onnx-proto';

type Node = onnxProto.onnx.INodeProto;
type Init = onnxProto.onnx.ITensorProto;
const AT = onnxProto.onnx.AttributeProto.AttributeType;
const FLOAT = onnxProto.onnx.TensorProto.DataType.FLOAT;

/**
 * Rewrites MobileNetV3's hard activations, which TF writes out as element-wise chains, into the single ONNX ops
 * onnxruntime has kernels for (opset ≥ 14):
 *   x · relu6(x + 3) / 6   (Add, Clip, Mul, Mul — in either order of the two Muls)  →  HardSwish(x)
 *   relu6(x + 3) / 6       (Add, Clip, Mul)                                          →  HardSigmoid(x, 1/6, 1/2)
 * One pass over memory instead of three or four; a HardSigmoid straight after a Conv is then fused into it by
 * onnxruntime. A graph whose 1/6 was stored as fp16 (c = 0.16663, 0.015 % off) is kept exact: the fused result is
 * scaled by 6c, folded into the next Conv's weights where it can be (see below). Only chains whose intermediate tensors feed nothing else are rewritten. `outputs`: the graph's
 * output names (never removed). Unused initializers are dropped. Returns the counts rewritten.
 */
export function fuseHardActivations(nodes: Node[], inits: Init[], outputs: string[]): { hardSwish: number; hardSigmoid: number } {
  const initBy = new Map(inits.map((t) => [t.name!, t]));
  const scalar = (name: string): number | undefined => {
    const t = initBy.get(name);
    if (!t || t.dataType !== FLOAT || (t.dims ?? []).reduce((a, b) => a * Number(b), 1) !== 1) return undefined;
    if (t.rawData?.length === 4) return new DataView(t.rawData.buffer, t.rawData.byteOffset, 4).getFloat32(0, true);
    return t.floatData?.[0];
  };
  // 1/6 arrives rounded to fp16 (0.16663) from fp16-quantised graphs: within 0.1 % is taken as the same constant
  const near = (v: number | undefined, want: number) => v !== undefined && Math.abs(v - want) <= 1e-3 * Math.max(1e-3, Math.abs(want));
  const producer = new Map<string, Node>();
  const uses = new Map<string, Node[]>();
  const rebuild = () => {
    producer.clear();
    uses.clear();
    for (const n of nodes) {
      for (const o of n.output ?? []) producer.set(o, n);
      for (const i of n.input ?? []) uses.set(i, [...(uses.get(i) ?? []), n]);
    }
  };
  rebuild();
  const isOutput = new Set(outputs);
  /** the only consumer of `t`, when exactly one node (and not the graph) reads it */
  const soleUse = (t: string) => (!isOutput.has(t) && uses.get(t)?.length === 1 ? uses.get(t)![0] : undefined);
  /** `n` is Op(t, c) or Op(c, t) with c a constant near `want`: returns t */
  const withConst = (n: Node | undefined, op: string, want: number): string | undefined => {
    if (n?.opType !== op || n.input?.length !== 2) return undefined;
    const [a, b] = n.input as [string, string];
    if (near(scalar(b), want) && !initBy.has(a)) return a;
    if (near(scalar(a), want) && !initBy.has(b)) return b;
    return undefined;
  };

  /** the constant operand of a binary node whose other operand is `x` */
  const constOf = (n: Node, x: string) => scalar(n.input![0] === x ? n.input![1]! : n.input![0]!);
  const drop = new Set<Node>();
  const replace = new Map<Node, Node>();
  /** fused outputs that must still be multiplied by 6c to equal the original (c: the graph's own 1/6) */
  const scales: { tensor: string; k: number }[] = [];
  let hardSwish = 0, hardSigmoid = 0;
  for (const clip of nodes) {
    if (clip.opType !== 'Clip' || clip.input?.length !== 3 || !near(scalar(clip.input[1]!), 0) || !near(scalar(clip.input[2]!), 6)) continue;
    const add = producer.get(clip.input[0]!);
    const x = withConst(add, 'Add', 3);
    if (!x || !near(constOf(add!, x), 3) || soleUse(clip.input[0]!) !== clip) continue;
    const r = clip.output![0]!;
    const m = soleUse(r);
    if (m?.opType !== 'Mul' || m.input?.length !== 2 || drop.has(m)) continue;
    const other = m.input[0] === r ? m.input[1]! : m.input[0]!;
    const chain = [add!, clip, m];
    let out: string, op: 'HardSwish' | 'HardSigmoid', c: number;
    const sixth = producer.get(other);
    if (near(scalar(other), 1 / 6)) {
      // relu6(x+3)·c, maybe then ·x
      c = scalar(other)!;
      const m2 = soleUse(m.output![0]!);
      const y = m2?.opType === 'Mul' && m2.input?.length === 2 ? (m2.input[0] === m.output![0] ? m2.input[1] : m2.input[0]) : undefined;
      if (y === x) (op = 'HardSwish'), (out = m2!.output![0]!), chain.push(m2!);
      else (op = 'HardSigmoid'), (out = m.output![0]!);
    } else if (withConst(sixth, 'Mul', 1 / 6) === x && soleUse(other) === m) {
      // (x·c) · relu6(x+3)
      c = constOf(sixth!, x)!;
      (op = 'HardSwish'), (out = m.output![0]!), chain.push(sixth!);
    } else if (other === x) {
      // (x · relu6(x+3)) · c
      const m2 = soleUse(m.output![0]!);
      if (withConst(m2, 'Mul', 1 / 6) !== m.output![0]) continue;
      c = constOf(m2!, m.output![0]!)!;
      (op = 'HardSwish'), (out = m2!.output![0]!), chain.push(m2!);
    } else continue;
    if (chain.some((n) => drop.has(n))) continue;
    const last = chain.reduce((a, n) => (nodes.indexOf(n) > nodes.indexOf(a) ? n : a));
    const fused: Node = {
      opType: op,
      input: [x],
      output: [out],
      name: `${op}_${clip.name}`,
      attribute: op === 'HardSigmoid' ? [{ name: 'alpha', type: AT.FLOAT, f: 1 / 6 }, { name: 'beta', type: AT.FLOAT, f: 0.5 }] : [],
    };
    for (const n of chain) drop.add(n);
    replace.set(last, fused);
    if (Math.fround(6 * c) !== 1) scales.push({ tensor: out, k: 6 * c });
    if (op === 'HardSwish') hardSwish++;
    else hardSigmoid++;
  }
  const kept: Node[] = [];
  for (const n of nodes) {
    const r = replace.get(n);
    if (r) kept.push(r);
    else if (!drop.has(n)) kept.push(n);
  }
  nodes.splice(0, nodes.length, ...kept);
  rebuild();

  // The exact ops compute with 1/6; a graph that used c ≠ 1/6 (fp16-rounded) is matched exactly by scaling the
  // result by 6c. Linear consumers take the factor into constants (a Conv's weights: Mul(W, 6c), which onnxruntime
  // folds when it loads the model), products and means pass it on; anything else gets an explicit Mul.
  const before = new Map<Node, Node[]>();
  const after = new Map<Node, Node[]>();
  const addConst = (k: number, hint: string) => {
    const name = `${hint}/scale6c`;
    if (!initBy.has(name)) {
      const t: Init = { name, dataType: FLOAT, dims: [], rawData: new Uint8Array(Float32Array.of(k).buffer) };
      inits.push(t);
      initBy.set(name, t);
    }
    return name;
  };
  let seq = 0;
  const pushScale = (t: string, k: number, depth = 0): void => {
    const explicit: Node[] = [];
    for (const n of uses.get(t) ?? []) {
      if (n.opType === 'Conv' && n.input![0] === t && n.input!.length >= 2 && depth < 8) {
        const w = n.input![1]!;
        const scaled = `${w}/x6c`;
        before.set(n, [...(before.get(n) ?? []), { opType: 'Mul', input: [w, addConst(k, w)], output: [scaled], name: `${n.name}/scale_weights_${++seq}` }]);
        n.input![1] = scaled;
      } else if (depth < 8 && ((n.opType === 'Mul' && n.input!.length === 2 && n.input![0] !== n.input![1]) || ((n.opType === 'ReduceMean' || n.opType === 'Relu' || n.opType === 'MaxPool') && n.input![0] === t && k > 0)))
        pushScale(n.output![0]!, k, depth + 1); // linear in t (Relu, MaxPool: for a positive factor)
      else explicit.push(n);
    }
    if (!explicit.length && !isOutput.has(t)) return;
    const p = producer.get(t)!;
    const scaled = `${t}/x6c`;
    after.set(p, [...(after.get(p) ?? []), { opType: 'Mul', input: [t, addConst(k, t)], output: [scaled], name: `${p.name}/scale_${++seq}` }]);
    for (const n of explicit) n.input = n.input!.map((i) => (i === t ? scaled : i));
    if (isOutput.has(t)) throw new Error(`fuseHardActivations: graph output '${t}' would need rescaling`);
  };
  for (const { tensor, k } of scales) pushScale(tensor, k);
  const ordered: Node[] = [];
  for (const n of nodes) ordered.push(...(before.get(n) ?? []), n, ...(after.get(n) ?? []));
  nodes.splice(0, nodes.length, ...ordered);
  const used = new Set(nodes.flatMap((n) => n.input ?? []));
  const live = inits.filter((t) => used.has(t.name!) || isOutput.has(t.name!));
  inits.splice(0, inits.length, ...live);
  return { hardSwish, hardSigmoid };
}
