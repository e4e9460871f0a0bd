/** Columns padded to their widest cell; `align` per column, 'r' for numbers. Two spaces between. */
export function renderTable(rows: readonly (readonly string[])[], align: readonly ('l' | 'r')[] = []): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (align[i] === 'r' ? cell.padStart(widths[i]) : i === row.length - 1 ? cell : cell.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function percent(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

export function fixed3(x: number | null): string {
  return x === null ? '—' : x.toFixed(3);
}
