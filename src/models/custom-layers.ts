/**
 * Importing this module registers every custom layer class our models use
 * (tfjs resolves a saved model's layers by class name; each class registers
 * itself where it is defined), so code that loads a checkpoint imports this
 * instead of the engine knowing about models.
 */
import './adaptive-pool.js';
import './channelwise-dense.js';
import './relu-conv.js';
import './resize.js';
