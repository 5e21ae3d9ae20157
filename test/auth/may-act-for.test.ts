import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mayActFor, type ClientIdentity, type DeviceScope } from '../../src/hub/auth/index.js';

// edge1 (this gateway) ← child-edge ← leaf;  edge1 ← sensor;  loop-a ↔ loop-b (bad data)
const parents: Record<string, string> = { 'child-edge': 'edge1', leaf: 'child-edge', sensor: 'edge1', 'loop-a': 'loop-b', 'loop-b': 'loop-a' };
const scope: DeviceScope = { parentOf: (deviceId) => parents[deviceId] };

const device = (deviceId: string): ClientIdentity => ({ kind: 'device', deviceId });
const module = (deviceId: string, moduleId: string): ClientIdentity => ({ kind: 'module', deviceId, moduleId });

describe('mayActFor (IoT Hub topics and links)', () => {
  it('lets every identity act for itself', () => {
    assert.ok(mayActFor(device('sensor'), 'sensor', undefined, scope));
    assert.ok(mayActFor(module('sensor', 'm'), 'sensor', 'm', scope));
  });

  it('refuses a device acting for another device, and a module for another module', () => {
    assert.ok(!mayActFor(device('sensor'), 'leaf', undefined, scope));
    assert.ok(!mayActFor(module('edge1', 'a'), 'edge1', 'b', scope), 'a module subscribing to another module’s inputs');
    assert.ok(!mayActFor(module('edge1', 'a'), 'edge1', undefined, scope), 'a module acting for its device');
  });

  it('lets a parent act for its children and their modules, through nested levels', () => {
    assert.ok(mayActFor(device('child-edge'), 'leaf', undefined, scope));
    assert.ok(mayActFor(device('child-edge'), 'leaf', 'm', scope));
    assert.ok(mayActFor(device('child-edge'), 'child-edge', '$edgeAgent', scope));
    assert.ok(mayActFor(device('edge1'), 'leaf', undefined, scope), 'grandchild');
  });

  it('never lets a child act for its parent', () => {
    assert.ok(!mayActFor(device('leaf'), 'child-edge', undefined, scope));
    assert.ok(!mayActFor(device('child-edge'), 'edge1', undefined, scope));
  });

  it('lets a child edge’s $edgeHub act as its device does', () => {
    assert.ok(mayActFor(module('child-edge', '$edgeHub'), 'leaf', undefined, scope));
    assert.ok(mayActFor(module('child-edge', '$edgeHub'), 'child-edge', 'other', scope));
    assert.ok(!mayActFor(module('child-edge', 'notEdgeHub'), 'leaf', undefined, scope));
  });

  it('refuses anonymous clients, and terminates on a parent cycle', () => {
    assert.ok(!mayActFor({ kind: 'anonymous' }, 'sensor', undefined, scope));
    assert.ok(!mayActFor(device('x'), 'loop-a', undefined, scope));
  });
});
