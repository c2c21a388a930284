import type { PositionRules } from '../../src/cursor/codec'
import { compareSequencePositions, isSequencePosition } from '../../src/providers/shared/sequence'

/** How JetStream and the memory log read positions, for tests that decode their cursors. */
export const sequenceRules: PositionRules = { isValid: isSequencePosition, compare: compareSequencePositions }
