import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { canonicalJson, contentHash, makePlan } from '../../src/experiment/plan.js';
import type { Experiment } from '../../src/experiment/types.js';
import { loadExperiment } from '../../src/experiment/load.js';

describe('experiment plan', () => {
  it('hashes content, not key order', () => {
    assert.equal(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }), '{"a":[2,{"c":4,"d":3}],"b":1}');
    assert.equal(contentHash({ a: 1, b: 2 }), contentHash({ b: 2, a: 1 }));
    assert.notEqual(contentHash({ a: 1 }), contentHash({ a: 2 }));
  });

  it('expands methods x tasks x protocols x seeds, and a changed downstream field moves only that task', async () => {
    const exp: Experiment = await loadExperiment('experiments/smoke.json');
    const plan = makePlan(exp, 'wasm');
    const pretext = plan.filter((j) => j.stage === 'pretext');
    const downstream = plan.filter((j) => j.stage === 'downstream');
    const protocolsPerSeedMethod = exp.downstream.reduce((n, d) => n + (d.task === 'inpainting' ? 1 : d.protocols!.length), 0);
    assert.equal(pretext.length, exp.seeds.length * exp.pretext.length);
    assert.equal(downstream.length, pretext.length * protocolsPerSeedMethod);
    assert.equal(new Set(plan.map((j) => j.dir)).size, plan.length);

    const changed = structuredClone(exp);
    (changed.downstream[0].steps as number) += 1;
    const plan2 = makePlan(changed, 'wasm');
    const moved = plan.filter((j, i) => j.dir !== plan2[i].dir);
    assert.ok(moved.length > 0);
    assert.ok(moved.every((j) => j.stage === 'downstream' && j.task === exp.downstream[0].task));

    const checkpointing = structuredClone(exp);
    checkpointing.pretext[0].checkpointEvery += 7;
    checkpointing.downstream[0].checkpointEvery += 3;
    assert.deepEqual(makePlan(checkpointing, 'wasm').map((j) => j.dir), plan.map((j) => j.dir), 'checkpointEvery does not change the numbers, so no job key');

    const otherBackend = makePlan(exp, 'cpu');
    assert.ok(otherBackend.every((j, i) => j.dir !== plan[i].dir), 'the backend is part of every job key');
  });

  it("keys a field two protocols share (probeDims) into both protocols' jobs and no other", async () => {
    const exp: Experiment = await loadExperiment('experiments/ci-cifar10.json');
    exp.downstream[0].protocols = ['frozen', 'knn', 'linear'];
    const dirs = (e: Experiment) => new Map(makePlan(e, 'wasm').filter((j) => j.stage === 'downstream').map((j) => [`${j.method}/${j.protocol}/${j.seed}`, j.dir]));
    const before = dirs(exp);
    const changed = structuredClone(exp);
    changed.downstream[0].probeDims = 4000;
    const after = dirs(changed);
    const moved = [...before.keys()].filter((k) => before.get(k) !== after.get(k)).map((k) => k.split('/')[1]);
    assert.deepEqual([...new Set(moved)].sort(), ['knn', 'linear']);
    assert.equal(moved.length, 2 * exp.pretext.length * exp.seeds.length);
  });

  it('keeps the job keys of an experiment without a generator field: smoke.json hashes as before model.generator existed', async () => {
    const exp: Experiment = await loadExperiment('experiments/smoke.json');
    // The dataset root is absolute in the key; pin it so the hashes do not depend on where the repository is checked out.
    exp.datasets.synth.root = '/fixed/synth-voc';
    // Recorded on main at ce62c21, before models/generators existed.
    const before = ["716d34d17655","b7ce0c88beee","6c85e3307d27","04643c7737ed","371520f9ab00","2dcf317092fc","2e9f0e181f60","8dd6b54c37f6","3ad220f35645","db4a3ce70d39","79e440e4e7aa","89e73c2114af","86a20f886d73","c1751e978d1a","642c9c3763ae","d8d9732ee7a1","452708d09357","406d58d171fb","1d4f5072a368","48720f618933","3a783508bdb7","f050e2405d5e","d45c8b7afeb1","381c88ddd2cd","70f3681e6ac6","a4142d59cfd1","522389659485","e4902c84e75e","068641cdd790","027a01e279c7","2f8def401e2a","e0b55b91b7d0","469d78795cc6","d2d67b1d995f","1dfad7c27780","1ae33ff53eea","a3242e4df710","2065a7388c3d","80a5c91f4911","3a8f1d6306a7","7de3b74c0133","6ab5d806e0fa","31bf099b71eb","ec1f8b8c3968","1c5c7b60d226"];
    assert.deepEqual(makePlan(exp, 'wasm').map((j) => j.hash), before);
  });

  it("keys the generator's own fields (bottleneck) into every job of an experiment that names one", async () => {
    const exp: Experiment = await loadExperiment('experiments/inpaint.json');
    const hashes = (e: Experiment) => makePlan(e, 'wasm').map((j) => j.hash);
    const other = structuredClone(exp);
    other.model = { ...exp.model, bottleneck: 512 };
    assert.ok(hashes(other).every((h, i) => h !== hashes(exp)[i]), 'the bottleneck is part of every job key');
  });
});
