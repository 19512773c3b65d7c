// The LLM-judge prompts for annotation and the parser of their answers. "fineweb-edu" is the
// additive 5-point educational-value prompt of FineWeb-Edu (Penedo et al. 2024; the prompt published
// with HuggingFaceFW/fineweb-edu); "finemath" is the additive 5-point mathematical-reasoning prompt of
// FineMath (Allal et al. 2025, SmolLM2 §3), written here after the published one. Both end with the
// answer line the parser reads; `--prompt-file` takes any other prompt with {text}.

export const FINEWEB_EDU_PROMPT = `Below is an extract from a web page. Evaluate whether the page has a high educational value and could be useful in an educational setting for teaching from primary school to grade school levels using the additive 5-point scoring system described below. Points are accumulated based on the satisfaction of each criterion:

- Add 1 point if the extract provides some basic information relevant to educational topics, even if it includes some irrelevant or non-academic content like advertisements and promotional material.
- Add another point if the extract addresses certain elements pertinent to education but does not align closely with educational standards. It might mix educational content with non-educational material, offering a superficial overview of potentially useful topics, or presenting information in a disorganized manner and incoherent writing style.
- Award a third point if the extract is appropriate for educational use and introduces key concepts relevant to school curricula. It is coherent though it may not be comprehensive or could include some extraneous information. It may resemble an introductory section of a textbook or a basic tutorial that is suitable for learning but has notable limitations like treating concepts that are too complex for grade school students.
- Grant a fourth point if the extract is highly relevant and beneficial for educational purposes for a level not higher than grade school, exhibiting a clear and consistent writing style. It could be similar to a chapter from a textbook or a tutorial, offering substantial educational content, including exercises and solutions, with minimal irrelevant information, and the concepts aren't too advanced for grade school students. The content is coherent, focused, and valuable for structured learning.
- Bestow a fifth point if the extract is outstanding in its educational value, perfectly suited for teaching either at primary school or grade school. It follows detailed reasoning, the writing style is easy to follow and offers profound and thorough insights into the subject matter, devoid of any non-educational or complex content.

The extract:
{text}

After examining the extract:
- Briefly justify your total score, up to 100 words.
- Conclude with the score using the format: "Educational score: <total points>"`;

export const FINEMATH_PROMPT = `Evaluate the following text extract for its potential usefulness for studying mathematics up to high school and early undergraduate levels. Use the following 5-point scoring system, adding points for each criterion met:

- Add 1 point if the extract contains some mathematical content, even if it is not very useful for studying or is an academic paper too advanced for the target level.
- Add another point if the extract demonstrates logical reasoning in a mathematical context, even if it lacks step-by-step explanations or is too advanced.
- Award a third point if the extract is at an appropriate level (up to high school and early undergraduate) and contains clear mathematical deductions and step-by-step solutions to mathematical problems.
- Grant a fourth point if the extract is highly relevant and useful for teaching mathematics at that level, with clear and coherent step-by-step reasoning, similar to a textbook section or a worked exercise.
- Bestow a fifth point if the extract is outstanding in its educational value for mathematics: detailed, easy-to-follow reasoning and solutions that give a thorough understanding of the concepts.

The extract:
{text}

After examining the extract:
- Briefly justify your total score, up to 100 words.
- Conclude with the score using the format: "Final score: <total points>"`;

export const PROMPTS: Record<string, string> = { "fineweb-edu": FINEWEB_EDU_PROMPT, finemath: FINEMATH_PROMPT };

/** Fill a prompt's {text} with a document. */
export function fillPrompt(prompt: string, text: string): string {
  return prompt.replace("{text}", text);
}

/** The 0–5 score an answer concludes with ("Educational score: 3", "Final score: 4"), or undefined. */
export function parseScore(answer: string): number | undefined {
  const all = [...answer.matchAll(/(?:educational|final|math(?:ematical)?)?\s*score\s*[:=]\s*\**\s*([0-5])(?![0-9.])/gi)];
  if (all.length === 0) return undefined;
  return Number(all[all.length - 1][1]);
}
