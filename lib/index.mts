/**
 * The ES module entry of admmirnn (`import { RNN, AdmmTrainer } from 'admmirnn'`): the CommonJS
 * library's named exports, re-exported, so both entries share one module instance (one addon, one
 * thread setting) and `instanceof` works across them.
 */
export * from './index.js';
