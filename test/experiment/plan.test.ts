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
});
