import type ptBR from './pt-BR.js';

/** Same keys as Portuguese, any strings: what English must provide. */
export type Translation<T> = { readonly [K in keyof T]: T[K] extends string ? string : Translation<T[K]> };
export type Resources = Translation<typeof ptBR>;
