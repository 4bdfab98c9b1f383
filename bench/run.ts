export async function runBench(_o: { quick: boolean }): Promise<void> {}
