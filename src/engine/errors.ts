// The engine throws the errors every door understands; they are declared with the contract.
export * from '../shared/errors.js';
