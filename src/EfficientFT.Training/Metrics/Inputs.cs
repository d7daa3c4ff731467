namespace EfficientFT.Training.Metrics;

internal static class Inputs
{
    public static void CheckPaired(int predictions, int references)
    {
        if (predictions != references)
        {
            throw new ArgumentException($"{predictions} predictions but {references} references; they must pair up.");
        }

        if (predictions == 0)
        {
            throw new ArgumentException("No predictions: a score of an empty evaluation set is undefined.");
        }
    }
}
